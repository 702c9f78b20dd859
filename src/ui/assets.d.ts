// Stylesheets are imported as text (`with { type: "text" }`) so `bun build --compile` embeds them.
declare module "*.css" {
  const text: string;
  export default text;
}
