// The OnyxChat client for Kotlin: suspend functions, Flows for live queries, a StateFlow
// for the connection, Closeable. A thin layer over the generated bindings (FfiClient and friends):
// every behaviour lives in the shared Rust core.
package com.onyxchat

import java.io.Closeable
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.runBlocking

/**
 * Where user tokens come from: usually a call to the app's backend. Throw
 * [TokenFetchException.Refused] when the user is signed out (the client stops asking until
 * [ChatClient.refreshToken]); any other exception means "try again later".
 */
fun interface TokenProvider {
    /** A fresh token for the client's user. */
    suspend fun fetchToken(): String
}

/**
 * The OnyxChat client. Open one per signed-in user with [ChatClient.connect]; it starts
 * from the local cache at once and connects in the background. Every call is main-safe:
 * the work runs on the SDK's own threads.
 */
class ChatClient private constructor(
    /** The generated binding underneath, for the rare call this layer does not wrap. */
    val ffi: FfiClient,
) : Closeable, LifecycleTarget {

    private val closed = AtomicBoolean(false)

    /** Runs this client's own coroutines (lifecycle bindings); cancelled by [shutdown]. */
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    private val connection = MutableStateFlow(ffi.connectionState())
    private val connectionWatch = ffi.watchConnection(object : ConnectionListener {
        override fun onState(state: ConnectionState) {
            connection.value = state
        }
    })

    /** The user this client acts as. */
    val userId: String = ffi.userId()

    /** The realtime connection, for an "offline" / "connecting…" banner. */
    val connectionState: StateFlow<ConnectionState> = connection.asStateFlow()

    /** Sends a message; returns its id at once (the message shows as `Pending` and is delivered when possible). */
    suspend fun sendMessage(
        cid: String,
        text: String,
        parentId: String? = null,
        quotedMessageId: String? = null,
        mentionedUsers: List<String> = emptyList(),
        attachments: List<String> = emptyList(),
    ): String = ffi.sendMessage(cid, NewMessage(text, parentId, quotedMessageId, mentionedUsers, attachments))

    /** Replaces a message's text (shown at once). */
    suspend fun editMessage(messageId: String, text: String) = ffi.editMessage(messageId, text)

    /** Deletes a message (shown deleted at once). */
    suspend fun deleteMessage(messageId: String) = ffi.deleteMessage(messageId)

    /** Adds the user's reaction of [kind] (e.g. `"like"`) to a message. */
    suspend fun addReaction(messageId: String, kind: String) = ffi.addReaction(messageId, kind)

    /** Removes the user's reaction of [kind]. */
    suspend fun removeReaction(messageId: String, kind: String) = ffi.removeReaction(messageId, kind)

    /** Stars (saves) a message for the user (shown at once; reverted if the server refuses it). */
    suspend fun starMessage(messageId: String) = ffi.starMessage(messageId)

    /** Unstars a message (shown at once; a star not sent yet is cancelled instead). */
    suspend fun unstarMessage(messageId: String) = ffi.unstarMessage(messageId)

    /** Marks a channel read (its unread count drops at once). */
    suspend fun markRead(cid: String) = ffi.markRead(cid)

    /**
     * Creates a channel; returns its cid. Works offline: messages may be sent to the cid at once.
     * An explicit [id] is an idempotent create for this user; if someone else already uses it, the
     * create fails in the outbox (409). With [distinct], the channel is the conversation of exactly
     * [members] and this user: see [openDistinctChannel].
     */
    suspend fun createChannel(
        kind: ChannelKind,
        id: String? = null,
        name: String? = null,
        members: List<String> = emptyList(),
        image: String? = null,
        distinct: Boolean = false,
    ): String = ffi.createChannel(NewChannel(kind, id, name, image, members, distinct))

    /**
     * Renames a channel or changes its image (owners and admins); absent values stay. Queued like a
     * send: the channel list shows the change at once, offline too. Returns the operation id.
     */
    suspend fun updateChannel(cid: String, name: String? = null, image: String? = null): String =
        ffi.updateChannel(cid, ChannelUpdate(name, image))

    /**
     * Adds [userIds] to a channel with the default role (moderators and above). Queued: they show at
     * once in [members], `pending` until the server confirms. Returns the operation id.
     */
    suspend fun addMembers(cid: String, userIds: List<String>): String = ffi.addMembers(cid, userIds)

    /** Gives a member a new [role] (queued; shown at once in [members]). */
    suspend fun setMemberRole(cid: String, userId: String, role: MemberRole): String =
        ffi.setMemberRole(cid, userId, role)

    /** Removes a member (moderators and above; queued, gone from [members] at once). */
    suspend fun removeMember(cid: String, userId: String): String = ffi.removeMember(cid, userId)

    /** Leaves a channel (queued): it leaves the channel list at once. */
    suspend fun leaveChannel(cid: String): String = ffi.leaveChannel(cid)

    /**
     * Hides [cid] from the user's channel list until its next new message (`false`: shows it
     * again): at once, offline too, and on the user's other devices once delivered.
     */
    suspend fun hideChannel(cid: String, hidden: Boolean = true): String =
        ffi.hideChannel(cid, hidden)

    /** Mutes [cid] for the user (`false`: unmutes): it leaves [totalUnread] at once. */
    suspend fun muteChannel(cid: String, muted: Boolean = true): String = ffi.muteChannel(cid, muted)

    /** Archives [cid] for the user (`false`: un-archives): it leaves the default channel list. */
    suspend fun archiveChannel(cid: String, archived: Boolean = true): String =
        ffi.archiveChannel(cid, archived)

    /** Deletes [cid] for everyone (owners and admins): it leaves the channel list at once. */
    suspend fun deleteChannel(cid: String): String = ffi.deleteChannel(cid)

    /**
     * Opens (creating it if needed) the distinct conversation between this user and [members]: a
     * direct message with one member, a fixed group with several. Its cid is derived from the
     * member set (`messaging:!members-…`), so every member gets the same cid, offline too. Its
     * members are fixed: to add someone, open a conversation with the larger set.
     */
    suspend fun openDistinctChannel(
        members: List<String>,
        kind: ChannelKind = ChannelKind.MESSAGING,
        name: String? = null,
    ): String = ffi.openDistinctChannel(kind, members, name)

    /** Retries a failed operation now (for a failed message: its id). */
    suspend fun retry(opId: String) = ffi.retry(opId)

    /** Gives up a queued or failed operation (an unsent message disappears). */
    suspend fun discard(opId: String) = ffi.discard(opId)

    /**
     * Stores what the user is writing in [cid] (in the thread of [parentId]) so it survives a
     * restart; a blank [text] deletes it. Sending a message there deletes it. Local to this device.
     */
    suspend fun setDraft(cid: String, text: String, parentId: String? = null) = ffi.setDraft(cid, parentId, text)

    /** The draft of [cid] (in the thread of [parentId]), to put back in the composer. */
    suspend fun draft(cid: String, parentId: String? = null): Draft? = ffi.draft(cid, parentId)

    /**
     * Suggestions for an `@` mention in [cid]: members whose id starts with [prefix]
     * (case-insensitive; empty lists everyone), most recently active first, then online ones,
     * at most [limit]; never the current user. Local and immediate, offline too.
     */
    suspend fun mentionCandidates(cid: String, prefix: String, limit: UInt = 8u): List<MemberItem> =
        ffi.mentionCandidates(cid, prefix, limit)

    /** Every queued operation, oldest first (once; see [liveOutbox]). */
    suspend fun outbox(): List<OutboxEntry> = ffi.outbox()

    /**
     * Every queued operation, oldest first, live: the current list first, then each change
     * (items appear, change state — pending, in flight, waiting to retry, failed — and leave).
     * For an "unsent" badge or screen; nothing is polled.
     */
    fun liveOutbox(): Flow<List<OutboxEntry>> = liveValueFlow { onValue ->
        ffi.watchOutbox(object : OutboxListener {
            override fun onOutbox(items: List<OutboxEntry>) = onValue(items)
        })
    }

    /** The engine's state. */
    suspend fun status(): ClientStatus = ffi.status()

    /** Syncs now (after sending what is queued) and returns when done. */
    suspend fun sync() = ffi.sync()

    /** Reports network reachability from the OS (ConnectivityManager): offline, nothing is tried (the outbox holds its sends); back online, everything resumes at once. */
    override suspend fun setNetworkReachable(reachable: Boolean) = ffi.setNetworkReachable(reachable)

    /** Reports the app moving to the foreground (`true`) or the background (realtime disconnects). */
    override suspend fun setForeground(foreground: Boolean) = ffi.setForeground(foreground)

    /**
     * Drives [setForeground] and [setNetworkReachable] from [foreground] and [online] until the
     * client stops or the returned binding is closed (see [LifecycleBinder] for the rules). On
     * Android, `ChatClient.connect(context, …)` does this with ProcessLifecycleOwner and
     * ConnectivityManager unless told not to.
     */
    fun bindLifecycle(
        foreground: Flow<Boolean>,
        online: Flow<Boolean>,
        offlineDebounceMillis: Long = LifecycleBinder.DEFAULT_OFFLINE_DEBOUNCE_MILLIS,
    ): LifecycleBinder = LifecycleBinder(this, foreground, online, scope, offlineDebounceMillis)

    /** Reconnects realtime now. */
    suspend fun reconnect() = ffi.reconnect()

    /** Asks the [TokenProvider] again (after it refused, once the user signed in again). */
    suspend fun refreshToken() = ffi.refreshToken()

    /**
     * The user is typing in [cid], in the thread of [parentId] when given: call on each
     * keystroke (throttled by the SDK).
     */
    suspend fun startTyping(cid: String, parentId: String? = null) = ffi.startTyping(cid, parentId)

    /** The user stopped typing in [cid] or its thread [parentId] (sending a message does this too). */
    suspend fun stopTyping(cid: String, parentId: String? = null) = ffi.stopTyping(cid, parentId)

    /**
     * The user's channels with unread counts and last messages. By default: every type,
     * neither hidden nor archived (muted ones included), most recently active first. [text]
     * matches the channel's name, its cid and its members' ids.
     */
    fun channels(
        limit: Int = 30,
        kind: ChannelKind? = null,
        unreadOnly: Boolean = false,
        hidden: Inclusion = Inclusion.EXCLUDE,
        muted: Inclusion = Inclusion.INCLUDE,
        archived: Inclusion = Inclusion.EXCLUDE,
        text: String? = null,
        sort: ChannelSort = ChannelSort.LAST_MESSAGE,
    ): Flow<List<ChannelItem>> {
        val query = ChannelListQuery(
            limit.toUInt(), kind, unreadOnly, hidden, muted, archived, text, sort,
        )
        return liveListFlow({ d: com.onyxchat.ChannelDiff -> d.toChange() }) { onBatch ->
            ffi.watchChannelList(query, object : ChannelListListener {
                override fun onDiffs(diffs: List<com.onyxchat.ChannelDiff>) = onBatch(diffs)
            })
        }
    }

    /** The user's unread counts over every channel they have not muted, for an app badge. */
    fun totalUnread(): Flow<TotalUnread> = liveValueFlow { onValue ->
        ffi.watchTotalUnread(object : TotalUnreadListener {
            override fun onTotal(total: TotalUnread) = onValue(total)
        })
    }

    /** Opens a live window on the newest [pageSize] messages of [cid]; returns once it is loaded (from the cache: no network wait). */
    suspend fun messages(cid: String, pageSize: Int = 30): MessageList =
        MessageList.open { listener -> ffi.watchMessages(cid, pageSize.toUInt(), listener) }

    /**
     * The user's starred messages across channels, most recently sent first; returns once the
     * cached list is loaded (the newest [pageSize] are fetched behind it). Grow it with
     * [StarredMessages.loadMore].
     */
    suspend fun starred(pageSize: Int = 30): StarredMessages =
        StarredMessages.open { listener -> ffi.watchStarred(pageSize.toUInt(), listener) }

    /**
     * One page of a full-text search of [text] (plain words; locally the last one also matches
     * as a prefix), in [cid] or everywhere: the local cache's hits first (`local`), then a page
     * of the server's for history the cache does not hold, each message once. Offline the page
     * holds the local hits alone and [SearchPage.server] is [SearchServerPart.NotReached].
     * Pass [SearchPage.next] as [cursor] for the next page. Highlights are UTF-16 ranges,
     * as Kotlin strings index.
     */
    suspend fun search(text: String, cid: String? = null, limit: Int = 20, cursor: String? = null): SearchPage =
        ffi.search(text, cid, limit.toUInt(), cursor)

    /** The local hits alone (the first [limit], best first): instant, offline too. */
    suspend fun searchLocal(text: String, cid: String? = null, limit: Int = 20): List<SearchHit> =
        ffi.searchLocal(text, cid, limit.toUInt())

    /**
     * Search results as they come: the local hits at once, then the first merged page's hits
     * (local and server, see [search]); completes after the second emission.
     */
    fun searchResults(text: String, cid: String? = null, limit: Int = 20): Flow<List<SearchHit>> = flow {
        emit(searchLocal(text, cid, limit))
        emit(search(text, cid, limit).hits)
    }

    /** A thread's replies, oldest first. */
    fun thread(parentId: String): Flow<List<MessageItem>> =
        liveListFlow({ d: com.onyxchat.MessageDiff -> d.toChange() }) { onBatch ->
            ffi.watchThread(parentId, object : MessageListListener {
                override fun onDiffs(diffs: List<com.onyxchat.MessageDiff>) = onBatch(diffs)
            })
        }

    /** How far each other member has read [cid]. */
    fun readReceipts(cid: String): Flow<List<ReadReceipt>> =
        liveListFlow({ d: com.onyxchat.ReadReceiptDiff -> d.toChange() }) { onBatch ->
            ffi.watchReadReceipts(cid, object : ReadReceiptListener {
                override fun onDiffs(diffs: List<com.onyxchat.ReadReceiptDiff>) = onBatch(diffs)
            })
        }

    /**
     * The live member list of [cid], oldest membership first: role, online, last read, with the
     * user's queued member changes shown at once (`pending`).
     */
    fun members(cid: String): Flow<List<MemberItem>> =
        liveListFlow({ d: MemberDiff -> d.toChange() }) { onBatch ->
            ffi.watchMembers(cid, object : MemberListListener {
                override fun onDiffs(diffs: List<MemberDiff>) = onBatch(diffs)
            })
        }

    /** Who else is typing in [cid] (entries expire on their own). */
    fun typing(cid: String): Flow<List<TypingUser>> = liveValueFlow { onValue ->
        ffi.watchTyping(cid, object : TypingListener {
            override fun onTyping(users: List<TypingUser>) = onValue(users)
        })
    }

    /** The ids of the users online among those sharing a channel with this user. */
    fun onlineUsers(): Flow<Set<String>> = liveValueFlow { onValue ->
        ffi.watchPresence(object : PresenceListener {
            override fun onPresence(online: List<String>) = onValue(online.toSet())
        })
    }

    /** Stops the client. Queued work stays in the outbox and is sent by the next client of this user. */
    suspend fun shutdown() {
        scope.cancel()
        connectionWatch.cancel()
        ffi.shutdown()
    }

    /** Stops the client (blocking; prefer [shutdown] from a coroutine) and releases it. */
    override fun close() {
        if (closed.getAndSet(true)) return
        runBlocking { shutdown() }
        connectionWatch.close()
        ffi.close()
    }

    companion object {
        /**
         * Opens [userId]'s client: the cache in [dataDir] (the app's `filesDir`; `null`
         * keeps it in memory), then connects to [serverUrl] in the background.
         */
        suspend fun connect(
            serverUrl: String,
            appId: String,
            userId: String,
            dataDir: File?,
            tokenProvider: TokenProvider,
        ): ChatClient {
            val config = ClientConfig(serverUrl, appId, userId, dataDir?.absolutePath)
            return ChatClient(FfiClient.open(config, HostTokens(tokenProvider)))
        }
    }
}

/** Bridges the suspend [TokenProvider] to the blocking callback the core calls on its own thread. */
private class HostTokens(private val provider: TokenProvider) : FfiTokenProvider {
    override fun fetchToken(): String = runBlocking {
        try {
            provider.fetchToken()
        } catch (e: TokenFetchException) {
            throw e
        } catch (e: Exception) {
            throw TokenFetchException.Unavailable(e.message ?: e.toString())
        }
    }
}
