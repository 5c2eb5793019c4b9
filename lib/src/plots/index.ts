/** Plotly figure builders: pure functions from data to `Figure` ({data, layout}); display them with `show`. */
export * from "./types";
export * from "./grid";
export * from "./images";
export * from "./distributions";
export * from "./curves";
export * from "./confusion";
export * from "./comparison";
export * from "./png";
export * from "./svg";
