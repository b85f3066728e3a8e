import { createRoot } from "react-dom/client";
import "@onyxchat/react/theme.css";
import { Chat } from "./Chat.jsx";

createRoot(document.getElementById("root")).render(<Chat />);
