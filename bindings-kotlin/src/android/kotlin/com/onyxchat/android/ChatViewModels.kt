// androidx ViewModel wrappers of the platform-neutral state holders (ChannelListModel,
// MessageListModel): they live in viewModelScope, so they survive configuration changes and
// close with the screen. Android-only; the logic and its tests are in src/main and src/jvmTest.
package com.onyxchat.android

import androidx.lifecycle.ViewModel
import androidx.lifecycle.ViewModelProvider
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import com.onyxchat.ChannelListModel
import com.onyxchat.ChannelListUiState
import com.onyxchat.ChatClient
import com.onyxchat.MessageListModel
import com.onyxchat.MessageListUiState
import kotlinx.coroutines.flow.StateFlow

/** A channel-list screen's ViewModel: [state] and the actions of [ChannelListModel]. */
class ChannelListViewModel(client: ChatClient, pageSize: Int = 30) : ViewModel() {
    private val model = ChannelListModel(client, viewModelScope, pageSize)

    /** The screen's state. */
    val state: StateFlow<ChannelListUiState> = model.state

    /** Shows one more page of channels. */
    fun loadMore() = model.loadMore()

    /** Marks [cid] read. */
    fun markRead(cid: String) = model.markRead(cid)

    /** Forgets the last error. */
    fun clearError() = model.clearError()

    companion object {
        /** A factory for `viewModel(factory = …)` / `by viewModels { … }`. */
        fun factory(client: ChatClient, pageSize: Int = 30): ViewModelProvider.Factory = viewModelFactory {
            initializer { ChannelListViewModel(client, pageSize) }
        }
    }
}

/** A conversation screen's ViewModel: [state] and the actions of [MessageListModel]. */
class MessageListViewModel(client: ChatClient, cid: String, pageSize: Int = 30) : ViewModel() {
    private val model = MessageListModel(client, cid, viewModelScope, pageSize)

    /** The screen's state. */
    val state: StateFlow<MessageListUiState> = model.state

    /** Shows one more page of older messages. */
    fun loadMore() = model.loadMore()

    /** Sends [text]. */
    fun send(text: String) = model.send(text)

    /** Sends a failed message again. */
    fun retry(messageId: String) = model.retry(messageId)

    /** Marks the channel read. */
    fun markRead() = model.markRead()

    /** Forgets the last error. */
    fun clearError() = model.clearError()

    companion object {
        /** A factory for `viewModel(factory = …)` / `by viewModels { … }`. */
        fun factory(client: ChatClient, cid: String, pageSize: Int = 30): ViewModelProvider.Factory =
            viewModelFactory { initializer { MessageListViewModel(client, cid, pageSize) } }
    }
}
