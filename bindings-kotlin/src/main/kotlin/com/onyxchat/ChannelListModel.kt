// The state holder of a channel-list screen: a StateFlow of UI state and its actions. Platform-
// neutral (no Android types); src/android wraps it in an androidx ViewModel.
package com.onyxchat

import java.io.Closeable
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.collectLatest
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** What a channel-list screen shows. */
data class ChannelListUiState(
    /** The user's channels, most recently active first. */
    val channels: List<ChannelItem> = emptyList(),
    /** `true` until the first list arrived (from the cache: no network wait). */
    val loading: Boolean = true,
    /** Whether [ChannelListModel.loadMore] may show more (the list filled its current limit). */
    val canLoadMore: Boolean = false,
    /** The realtime connection, for an "offline" / "connecting…" banner. */
    val connection: ConnectionState = ConnectionState.Connecting(0u),
    /** The last failed action, until [ChannelListModel.clearError]. */
    val error: ChatException? = null,
)

/**
 * A channel list for one screen: [state] follows the client's channels live; [loadMore] grows
 * the list by a page; [markRead] clears a channel's unread count. Every action returns at
 * once and runs in [scope] (a screen's scope: `viewModelScope` on Android); failures land in
 * [ChannelListUiState.error]. [close] (or the end of [scope]) stops it.
 */
class ChannelListModel(
    private val client: ChatClient,
    private val scope: CoroutineScope,
    private val pageSize: Int = 30,
) : Closeable {

    private val mutableState = MutableStateFlow(ChannelListUiState(connection = client.connectionState.value))

    /** The screen's state. */
    val state: StateFlow<ChannelListUiState> = mutableState.asStateFlow()

    private val limit = MutableStateFlow(pageSize)
    private val job = Job(scope.coroutineContext[Job])
    private val own = CoroutineScope(scope.coroutineContext + job)

    init {
        own.launch {
            // A new limit replaces the live query with a larger one.
            limit.collectLatest { max ->
                client.channels(max).collect { channels ->
                    mutableState.update {
                        it.copy(channels = channels, loading = false, canLoadMore = channels.size >= max)
                    }
                }
            }
        }
        own.launch {
            client.connectionState.collect { c -> mutableState.update { it.copy(connection = c) } }
        }
    }

    /** Shows one more page of channels (ignored while the list is shorter than its limit). */
    fun loadMore() {
        val current = state.value
        if (current.loading || !current.canLoadMore) return
        limit.update { if (current.channels.size >= it) it + pageSize else it }
    }

    /** Marks [cid] read: its unread count drops at once. */
    fun markRead(cid: String) = action { client.markRead(cid) }

    /** Forgets the last error. */
    fun clearError() = mutableState.update { it.copy(error = null) }

    private fun action(call: suspend () -> Unit) {
        own.launch {
            try {
                call()
            } catch (e: ChatException) {
                mutableState.update { it.copy(error = e) }
            }
        }
    }

    /** Stops following the channels (idempotent). */
    override fun close() = job.cancel()
}
