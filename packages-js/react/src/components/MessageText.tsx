import { memo } from "react";
import Markdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";

/**
 * A message's text as Markdown (CommonMark plus GitHub's strikethrough, tables, task lists
 * and autolinked URLs), rendered by react-markdown into React elements: never raw HTML. HTML
 * in the text is dropped (`skipHtml`), link targets other than http(s), mailto and
 * relative ones are removed (react-markdown's default URL check), links open in a new tab
 * without access to this page, and images are shown as links (a message cannot make every
 * reader's browser load a remote picture). Single line breaks are kept, as people expect
 * in chat.
 */
export const MessageText = memo(function MessageText({ text }: { text: string }) {
  return (
    <Markdown remarkPlugins={REMARK} components={COMPONENTS} skipHtml>
      {text}
    </Markdown>
  );
});

const REMARK = [remarkGfm];

const COMPONENTS: Components = {
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow ugc">
      {children}
    </a>
  ),
  img: ({ src, alt }) =>
    typeof src === "string" && src ? (
      <a href={src} target="_blank" rel="noopener noreferrer nofollow ugc">
        {alt || src}
      </a>
    ) : (
      <>{alt}</>
    ),
};
