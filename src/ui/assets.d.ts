// Stylesheets are imported as text (`with { type: "text" }`) so `bun build --compile` embeds them.
declare module "*.css" {
  const text: string;
  export default text;
}

// uPlot's ESM build, imported as text (see routes.ts); its types come in through ./uplot.d.ts.
declare module "uplot/dist/uPlot.esm.js" {
  const text: string;
  export default text;
}
