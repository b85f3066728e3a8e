// Drives a client's two OS inputs (app in the foreground, network reachable) from Flows, with
// the rules that decide what is reported and when. Platform-neutral: on Android the Flows come
// from ProcessLifecycleOwner and ConnectivityManager (src/android), on the JVM from anywhere.
package com.onyxchat

import java.io.Closeable
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.collectLatest
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** What a [LifecycleBinder] drives: the OS inputs of a client ([ChatClient] is one). */
interface LifecycleTarget {
    /** The app moved to the foreground (`true`) or the background. */
    suspend fun setForeground(foreground: Boolean)

    /** The OS says the network is reachable (`true`) or not. */
    suspend fun setNetworkReachable(reachable: Boolean)
}

/**
 * Reports [foreground] and [online] to a [target] until [close]d (or until [scope] ends, or
 * the client is closed). The rules:
 * - Only changes are reported; the first value of each Flow is reported at once (a client
 *   started in the background or offline learns it immediately).
 * - Foreground changes are reported at once: the core itself keeps the connection through a
 *   short background grace period, and ProcessLifecycleOwner already ignores configuration
 *   changes.
 * - Back online is reported at once (queued work resumes without delay); going offline is
 *   reported only once it has lasted [offlineDebounceMillis], so a network handover (Wi-Fi to
 *   cellular reports "lost" then "available") does not drop the realtime connection.
 * - A closed client ends the binding; any other failure of one report is ignored (the next
 *   change is reported normally).
 */
class LifecycleBinder(
    private val target: LifecycleTarget,
    foreground: Flow<Boolean>,
    online: Flow<Boolean>,
    scope: CoroutineScope,
    private val offlineDebounceMillis: Long = DEFAULT_OFFLINE_DEBOUNCE_MILLIS,
) : Closeable {

    /** A child of [scope]'s job: ends with the scope, and [close] ends only this binding. */
    private val job = Job(scope.coroutineContext[Job])

    init {
        val binding = CoroutineScope(scope.coroutineContext + job)
        binding.launch {
            foreground.distinctUntilChanged().collect { report { target.setForeground(it) } }
        }
        binding.launch {
            var first = true
            var reported: Boolean? = null
            online.distinctUntilChanged().collectLatest { reachable ->
                // A newer value cancels this wait: a short outage is never reported.
                if (!reachable && !first) delay(offlineDebounceMillis)
                first = false
                if (reported != reachable) {
                    reported = reachable
                    report { target.setNetworkReachable(reachable) }
                }
            }
        }
    }

    /** Whether the binding still reports changes. */
    val isActive: Boolean get() = job.isActive

    /** One report; it completes even if a newer value arrives meanwhile, so the order holds. */
    private suspend fun report(call: suspend () -> Unit) = withContext(NonCancellable) {
        try {
            call()
        } catch (e: ChatException.Closed) {
            job.cancel()
        } catch (e: ChatException) {
            // Not fatal for the binding: the next change is reported as usual.
        }
    }

    /** Stops reporting (idempotent): the opt-out, at any time. */
    override fun close() = job.cancel()

    companion object {
        /** How long "offline" must last before it is reported (ms). */
        const val DEFAULT_OFFLINE_DEBOUNCE_MILLIS: Long = 2_000
    }
}
