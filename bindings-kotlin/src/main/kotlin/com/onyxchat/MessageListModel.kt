// The state holder of a conversation screen: a StateFlow of UI state and its actions. Platform-
// neutral (no Android types); src/android wraps it in an androidx ViewModel.
package com.onyxchat

import java.io.Closeable
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** What a conversation screen shows. */
data class MessageListUiState(
    /** The loaded messages, oldest first, with their delivery states. */
    val messages: List<MessageItem> = emptyList(),
    /** `true` until the first page arrived (from the cache: no network wait). */
    val loading: Boolean = true,
    /** `true` while [MessageListModel.loadMore] fetches older messages. */
    val loadingOlder: Boolean = false,
    /** `true` once the start of the channel is shown (no older messages). */
    val reachedStart: Boolean = false,
    /** Who else is typing here. */
    val typing: List<TypingUser> = emptyList(),
    /** The last failed action, until [MessageListModel.clearError]. */
    val error: ChatException? = null,
)

/**
 * One channel's conversation for one screen: [state] follows the newest messages live (sent
 * here, received, synced); [loadMore] pages back; [send], [retry] and [markRead] act on it.
 * Every action returns at once and runs in [scope] (a screen's scope: `viewModelScope` on
 * Android); [send], [retry] and [markRead] run one at a time in the order they were called, so
 * messages keep the order they were typed in; failures land in [MessageListUiState.error]. [close] (or the end of [scope])
 * closes the live window.
 */
class MessageListModel(
    private val client: ChatClient,
    /** The channel shown. */
    val cid: String,
    scope: CoroutineScope,
    pageSize: Int = 30,
) : Closeable {

    private val mutableState = MutableStateFlow(MessageListUiState())

    /** The screen's state. */
    val state: StateFlow<MessageListUiState> = mutableState.asStateFlow()

    private val job = Job(scope.coroutineContext[Job])
    private val own = CoroutineScope(scope.coroutineContext + job)
    private val list = CompletableDeferred<MessageList>(job)

    /** The ordered actions, run one at a time by a single coroutine. */
    private val ordered = Channel<suspend () -> Unit>(Channel.UNLIMITED)

    init {
        own.launch {
            for (call in ordered) run(call)
        }
        own.launch {
            val opened = try {
                client.messages(cid, pageSize)
            } catch (e: ChatException) {
                mutableState.update { it.copy(loading = false, error = e) }
                return@launch
            }
            list.complete(opened)
            try {
                opened.items.collect { items -> mutableState.update { it.copy(messages = items, loading = false) } }
            } finally {
                opened.close()
            }
        }
        own.launch {
            client.typing(cid).collect { users -> mutableState.update { it.copy(typing = users) } }
        }
    }

    /** Shows one more page of older messages (ignored while loading or at the start). */
    fun loadMore() {
        val current = state.value
        if (current.loadingOlder || current.reachedStart) return
        mutableState.update { it.copy(loadingOlder = true) }
        action(after = { mutableState.update { it.copy(loadingOlder = false) } }) {
            val more = list.await().loadOlder()
            mutableState.update { it.copy(reachedStart = !more) }
        }
    }

    /** Sends [text]: it shows at once as pending and is delivered when possible. */
    fun send(text: String) = inOrder { client.sendMessage(cid, text) }

    /** Sends a failed message again ([messageId]: its id, the `opId` of its `Failed` state). */
    fun retry(messageId: String) = inOrder { client.retry(messageId) }

    /** Marks the channel read up to its newest message. */
    fun markRead() = inOrder { client.markRead(cid) }

    /** Forgets the last error. */
    fun clearError() = mutableState.update { it.copy(error = null) }

    private fun inOrder(call: suspend () -> Unit) {
        ordered.trySend(call)
    }

    private fun action(after: () -> Unit = {}, call: suspend () -> Unit) {
        own.launch {
            try {
                run(call)
            } finally {
                after()
            }
        }
    }

    private suspend fun run(call: suspend () -> Unit) {
        try {
            call()
        } catch (e: ChatException) {
            mutableState.update { it.copy(error = e) }
        }
    }

    /** Closes the live window (idempotent). */
    override fun close() {
        ordered.close()
        job.cancel()
    }
}
