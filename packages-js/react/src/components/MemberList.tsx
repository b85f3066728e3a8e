import { useState, type FormEvent } from "react";
import { useChatClient, useChatContext } from "../context.js";
import { useMembers } from "../hooks.js";
import { useTranslation } from "../i18n/context.js";
import type { MemberItem } from "../types.js";
import { cx } from "../utils.js";
import { Avatar } from "./basics.js";

export interface MemberListProps {
  cid: string;
  className?: string;
  /**
   * Shows an "Add member" field. Adding is queued like a send (the member shows at once,
   * marked as not confirmed yet); the server refuses it unless the user is a moderator or
   * above, and the refused addition then waits in the outbox as failed.
   */
  allowAdd?: boolean;
}

const ROLE_KEYS = { owner: "roleOwner", admin: "roleAdmin", moderator: "roleModerator" } as const;

/**
 * A channel's members, oldest membership first: a presence dot, the name (`getUser`), the
 * role when it is above `member`, and "not confirmed yet" while the user's own change to
 * that member waits for the server.
 */
export function MemberList({ cid, className, allowAdd = false }: MemberListProps) {
  const members = useMembers(cid);
  const { t } = useTranslation();
  return (
    <section className={cx("onyx-members", className)} aria-label={t("members")} data-testid="member-list">
      <ul className="onyx-members__list" aria-label={t("members")}>
        {members.map((m) => (
          <MemberRow key={m.userId} member={m} />
        ))}
      </ul>
      {allowAdd ? <AddMember cid={cid} /> : null}
    </section>
  );
}

function MemberRow({ member }: { member: MemberItem }) {
  const { getUser } = useChatContext();
  const { t } = useTranslation();
  const user = getUser(member.userId);
  const name = user?.name || member.userId;
  const role = member.role === "member" ? null : t(ROLE_KEYS[member.role]);
  return (
    <li
      className={cx("onyx-member", member.pending && "onyx-member--pending")}
      data-user={member.userId}
      data-online={member.online}
      data-pending={member.pending}
    >
      <span className="onyx-member__avatar">
        <Avatar id={member.userId} name={name} image={user?.image ?? null} size={24} />
        <span
          className={cx("onyx-presence", member.online && "onyx-presence--online")}
          role="img"
          aria-label={t(member.online ? "memberOnline" : "memberOffline")}
        />
      </span>
      <span className="onyx-member__name">{name}</span>
      {role ? <span className="onyx-member__role">{role}</span> : null}
      {member.pending ? <span className="onyx-member__pending">{t("memberPending")}</span> : null}
    </li>
  );
}

function AddMember({ cid }: { cid: string }) {
  const client = useChatClient();
  const { t } = useTranslation();
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const userId = draft.trim();
    if (!userId) return;
    setError(null);
    client.addMembers(cid, [userId]).then(
      () => setDraft(""),
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  };
  return (
    <form className="onyx-members__add" onSubmit={submit}>
      <input
        className="onyx-members__input"
        aria-label={t("addMember")}
        placeholder={t("addMemberPlaceholder")}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
      />
      <button type="submit" className="onyx-button" disabled={!draft.trim()}>
        {t("add")}
      </button>
      {error ? (
        <p className="onyx-members__error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}
