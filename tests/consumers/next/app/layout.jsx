import "@onyxchat/react/theme.css";

export const metadata = { title: "OnyxChat consumer: next" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
