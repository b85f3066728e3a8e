// Live lists on the Kotlin side: applies the diff batches chat-core delivers to a list
// snapshot and exposes it as a Flow. Only list bookkeeping lives here; what is in a list
// and in which order is decided by chat-core.
package com.onyxchat

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/** One list change, whatever the item type. */
internal sealed interface Change<out T> {
    data class Reset<T>(val items: List<T>) : Change<T>
    data class Insert<T>(val index: Int, val item: T) : Change<T>
    data class Update<T>(val index: Int, val item: T) : Change<T>
    data class Remove(val index: Int) : Change<Nothing>
}

internal fun MessageDiff.toChange(): Change<MessageItem> = when (this) {
    is MessageDiff.Reset -> Change.Reset(items)
    is MessageDiff.Insert -> Change.Insert(index.toInt(), item)
    is MessageDiff.Update -> Change.Update(index.toInt(), item)
    is MessageDiff.Remove -> Change.Remove(index.toInt())
}

internal fun ChannelDiff.toChange(): Change<ChannelItem> = when (this) {
    is ChannelDiff.Reset -> Change.Reset(items)
    is ChannelDiff.Insert -> Change.Insert(index.toInt(), item)
    is ChannelDiff.Update -> Change.Update(index.toInt(), item)
    is ChannelDiff.Remove -> Change.Remove(index.toInt())
}

internal fun ReadReceiptDiff.toChange(): Change<ReadReceipt> = when (this) {
    is ReadReceiptDiff.Reset -> Change.Reset(items)
    is ReadReceiptDiff.Insert -> Change.Insert(index.toInt(), item)
    is ReadReceiptDiff.Update -> Change.Update(index.toInt(), item)
    is ReadReceiptDiff.Remove -> Change.Remove(index.toInt())
}

internal fun MemberDiff.toChange(): Change<MemberItem> = when (this) {
    is MemberDiff.Reset -> Change.Reset(items)
    is MemberDiff.Insert -> Change.Insert(index.toInt(), item)
    is MemberDiff.Update -> Change.Update(index.toInt(), item)
    is MemberDiff.Remove -> Change.Remove(index.toInt())
}

/** A list kept up to date by diff batches; thread-safe. */
internal class DiffedList<T> {
    private val items = ArrayList<T>()

    /** Applies one batch and returns the resulting snapshot. */
    @Synchronized
    fun apply(batch: List<Change<T>>): List<T> {
        for (change in batch) {
            when (change) {
                is Change.Reset -> { items.clear(); items.addAll(change.items) }
                is Change.Insert -> items.add(change.index, change.item)
                is Change.Update -> items[change.index] = change.item
                is Change.Remove -> items.removeAt(change.index)
            }
        }
        return items.toList()
    }
}

/**
 * A cold Flow of list snapshots: collecting it opens the live query (`open` receives the
 * batch callback and returns the subscription), cancelling the collection closes it.
 * Snapshots are conflated: a slow collector skips to the newest list, never blocks the
 * engine, and never misses the final state.
 */
internal fun <D, T> liveListFlow(
    toChange: (D) -> Change<T>,
    open: suspend (onBatch: (List<D>) -> Unit) -> Subscription,
): Flow<List<T>> = callbackFlow {
    val list = DiffedList<T>()
    val subscription = open { batch -> trySend(list.apply(batch.map(toChange))) }
    awaitClose { subscription.cancel(); subscription.close() }
}.buffer(Channel.CONFLATED)

/** Like [liveListFlow] for values delivered whole (typing, presence). */
internal fun <T> liveValueFlow(
    open: suspend (onValue: (T) -> Unit) -> Subscription,
): Flow<T> = callbackFlow {
    val subscription = open { value -> trySend(value) }
    awaitClose { subscription.cancel(); subscription.close() }
}.buffer(Channel.CONFLATED)
