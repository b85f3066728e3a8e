// A minimal webpack 5 app: JSX through esbuild-loader, no TypeScript or Babel, nothing
// OnyxChat-specific (webpack bundles the package's worker and wasm from their
// `new URL(…, import.meta.url)` references by itself). index.html is copied as it is.
const path = require("node:path");

module.exports = {
  entry: "./src/main.jsx",
  output: { path: path.resolve(__dirname, "dist"), filename: "main.js", publicPath: "/", clean: true },
  resolve: { extensions: [".js", ".jsx"] },
  module: {
    rules: [
      { test: /\.jsx$/, loader: "esbuild-loader", options: { loader: "jsx", jsx: "automatic", target: "es2022" } },
    ],
  },
  performance: { hints: false },
};
