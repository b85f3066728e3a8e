import { useUser } from "../hooks.js";
import type { MemberItem } from "../types.js";
import { cx } from "../utils.js";

/**
 * The `@` autocomplete list above the message input: an ARIA listbox the textarea controls
 * (`aria-controls`, `aria-activedescendant`), so the focus stays in the textarea while arrows
 * move the active option.
 */
export function MentionSuggestions({
  id,
  candidates,
  active,
  onPick,
  label,
}: {
  id: string;
  candidates: readonly MemberItem[];
  active: number;
  onPick: (userId: string) => void;
  label: string;
}) {
  return (
    <ul className="onyx-mentions" id={id} role="listbox" aria-label={label} data-testid="mention-suggestions">
      {candidates.map((c, i) => (
        <Suggestion key={c.userId} listId={id} item={c} active={i === active} onPick={onPick} />
      ))}
    </ul>
  );
}

/** The id of the option for `userId` in the list `listId` (for `aria-activedescendant`). */
export const optionId = (listId: string, userId: string) => `${listId}-${userId}`;

function Suggestion({
  listId,
  item,
  active,
  onPick,
}: {
  listId: string;
  item: MemberItem;
  active: boolean;
  onPick: (userId: string) => void;
}) {
  const user = useUser(item.userId);
  return (
    <li
      id={optionId(listId, item.userId)}
      role="option"
      aria-selected={active}
      className={cx("onyx-mentions__option", active && "onyx-mentions__option--active")}
      data-testid={`mention-${item.userId}`}
      // Keep the focus in the textarea: pick on mouse down, before the blur.
      onMouseDown={(e) => {
        e.preventDefault();
        onPick(item.userId);
      }}
    >
      <span className="onyx-mentions__name">{user.name}</span>
      {user.name !== item.userId ? <span className="onyx-mentions__id">@{item.userId}</span> : null}
      {item.online ? <span className="onyx-mentions__online" aria-hidden="true" /> : null}
    </li>
  );
}
