// Types of /ui/uplot.js, which src/ui/routes.ts serves from the uplot package's ESM build.
import uPlot from "uplot";
export default uPlot;
