// Android's lifecycle and connectivity as Flows for LifecycleBinder: ProcessLifecycleOwner for
// "the app is in the foreground", ConnectivityManager's default-network callback for "the network
// is reachable". Android-only (compiled by Gradle, not by the JVM suite): only the translation of
// callbacks into values lives here; what is reported and when is LifecycleBinder's job.
package com.onyxchat.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleEventObserver
import androidx.lifecycle.ProcessLifecycleOwner
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.flowOn

/**
 * `true` while any activity of the app is started (ProcessLifecycleOwner: ON_START to ON_STOP,
 * with its own delay that ignores configuration changes). Emits the current state first.
 */
fun processForeground(): Flow<Boolean> = callbackFlow {
    val lifecycle = ProcessLifecycleOwner.get().lifecycle
    val observer = LifecycleEventObserver { _, _ ->
        trySend(lifecycle.currentState.isAtLeast(Lifecycle.State.STARTED))
    }
    // Adding the observer replays the events up to the current state: the first value.
    lifecycle.addObserver(observer)
    awaitClose { lifecycle.removeObserver(observer) }
}.flowOn(Dispatchers.Main.immediate).conflate()

/**
 * `true` while the default network has internet access (ConnectivityManager's default-network
 * callback; needs `ACCESS_NETWORK_STATE`, declared by the library). Emits the current state first.
 */
fun networkReachable(context: Context): Flow<Boolean> = callbackFlow {
    val manager = context.getSystemService(ConnectivityManager::class.java)
    fun hasInternet(capabilities: NetworkCapabilities?): Boolean =
        capabilities?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true
    val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            trySend(hasInternet(manager.getNetworkCapabilities(network)))
        }

        override fun onCapabilitiesChanged(network: Network, networkCapabilities: NetworkCapabilities) {
            trySend(hasInternet(networkCapabilities))
        }

        override fun onLost(network: Network) {
            // A handover reports the new network with onAvailable right after; the binder's
            // debounce keeps that from dropping the connection.
            trySend(false)
        }
    }
    trySend(hasInternet(manager.getNetworkCapabilities(manager.activeNetwork)))
    manager.registerDefaultNetworkCallback(callback)
    awaitClose { manager.unregisterNetworkCallback(callback) }
}.conflate()
