// A live message window of one channel as a StateFlow, with paging through the history.
package com.onyxchat

import java.io.Closeable
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The newest messages of a channel, oldest first, following new ones as they arrive (sent
 * here, received live, or synced), with their delivery states. Page back with
 * [loadOlder]. Open it with [ChatClient.messages]; [close] it when the screen goes away.
 */
class MessageList private constructor(private val window: MessageWindow, items: StateFlow<List<MessageItem>>) :
    Closeable {

    /** The messages now, oldest first. Updated from a background thread. */
    val items: StateFlow<List<MessageItem>> = items

    /** Shows one more page of older messages; `false` once the start of the channel is reached. */
    suspend fun loadOlder(): Boolean = window.loadOlder()

    /** Moves one page towards the newest messages; `true` once the list follows new messages again. */
    suspend fun loadNewer(): Boolean = window.loadNewer()

    /** Centres the list on a message (e.g. from a search result or a notification). */
    suspend fun jumpTo(messageId: String) = window.jumpTo(messageId)

    private val closed = AtomicBoolean(false)

    /** Whether the list is still updated. */
    val isActive: Boolean get() = !closed.get() && window.isActive()

    /** Stops updating the list (idempotent). */
    override fun close() {
        if (closed.getAndSet(true)) return
        window.cancel()
        window.close()
    }

    internal companion object {
        /** Opens the window and returns once its first snapshot is in [items]. */
        suspend fun open(
            watch: suspend (MessageListListener) -> MessageWindow,
        ): MessageList {
            val list = DiffedList<MessageItem>()
            val state = MutableStateFlow<List<MessageItem>>(emptyList())
            val first = CompletableDeferred<Unit>()
            val window = watch(object : MessageListListener {
                override fun onDiffs(diffs: List<MessageDiff>) {
                    state.value = list.apply(diffs.map { it.toChange() })
                    first.complete(Unit)
                }
            })
            try {
                first.await()
            } catch (e: Throwable) {
                window.cancel()
                window.close()
                throw e
            }
            return MessageList(window, state.asStateFlow())
        }
    }
}
