// The Android entry point: opens a ChatClient with its cache in the app's files directory and,
// unless the app opts out, wires it to the process lifecycle and to connectivity. Android-only.
package com.onyxchat.android

import android.content.Context
import com.onyxchat.ChatClient
import com.onyxchat.LifecycleBinder
import com.onyxchat.TokenProvider

/**
 * Opens [userId]'s client on Android: the cache in `context.filesDir` (instant start, offline
 * history), then connects to [serverUrl] in the background.
 *
 * With [bindLifecycle] (the default) the client follows the app: in the background its
 * realtime connection closes after a short grace period and reopens in the foreground
 * ([processForeground]); without network it waits and resumes at once when the network returns
 * ([networkReachable]). The binding ends with the client. Pass `false` to report these yourself
 * through `setForeground` / `setNetworkReachable` (or `ChatClient.bindLifecycle` with your Flows).
 */
suspend fun ChatClient.Companion.connect(
    context: Context,
    serverUrl: String,
    appId: String,
    userId: String,
    tokenProvider: TokenProvider,
    bindLifecycle: Boolean = true,
    offlineDebounceMillis: Long = LifecycleBinder.DEFAULT_OFFLINE_DEBOUNCE_MILLIS,
): ChatClient {
    val app = context.applicationContext
    val client = ChatClient.connect(serverUrl, appId, userId, app.filesDir, tokenProvider)
    if (bindLifecycle) {
        client.bindLifecycle(processForeground(), networkReachable(app), offlineDebounceMillis)
    }
    return client
}
