// Nothing OnyxChat-specific: the package must work with Vite's defaults.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({ plugins: [react()] });
