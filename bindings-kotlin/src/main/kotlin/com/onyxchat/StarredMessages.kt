// The user's starred messages as a StateFlow, growing a page at a time.
package com.onyxchat

import java.io.Closeable
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The user's starred messages across channels, most recently sent first, with stars and
 * unstars not yet delivered already applied. Messages older than their channel's cached
 * history are listed too. Grow it with [loadMore]. Open it with [ChatClient.starred];
 * [close] it when the screen goes away.
 */
class StarredMessages private constructor(private val list: StarredList, items: StateFlow<List<MessageItem>>) :
    Closeable {

    /** The starred messages now, newest first. Updated from a background thread. */
    val items: StateFlow<List<MessageItem>> = items

    /** Shows one more page of older starred messages; `false` once the oldest is shown. */
    suspend fun loadMore(): Boolean = list.loadMore()

    private val closed = AtomicBoolean(false)

    /** Whether the list is still updated. */
    val isActive: Boolean get() = !closed.get() && list.isActive()

    /** Stops updating the list (idempotent). */
    override fun close() {
        if (closed.getAndSet(true)) return
        list.cancel()
        list.close()
    }

    internal companion object {
        /** Opens the list and returns once its first snapshot (the cached list) is in [items]. */
        suspend fun open(watch: suspend (MessageListListener) -> StarredList): StarredMessages {
            val diffed = DiffedList<MessageItem>()
            val state = MutableStateFlow<List<MessageItem>>(emptyList())
            val first = CompletableDeferred<Unit>()
            val list = watch(object : MessageListListener {
                override fun onDiffs(diffs: List<MessageDiff>) {
                    state.value = diffed.apply(diffs.map { it.toChange() })
                    first.complete(Unit)
                }
            })
            try {
                first.await()
            } catch (e: Throwable) {
                list.cancel()
                list.close()
                throw e
            }
            return StarredMessages(list, state.asStateFlow())
        }
    }
}
