// The lifecycle/connectivity rules of LifecycleBinder: what is reported and when (against a
// recording target, with real time), then the same binding driving a real client against the
// real chat-server, its opt-out, and its end with the client.
package com.onyxchat

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** Records every report, in order. */
private class RecordingTarget : LifecycleTarget {
    val calls = Channel<String>(Channel.UNLIMITED)
    override suspend fun setForeground(foreground: Boolean) { calls.send("foreground=$foreground") }
    override suspend fun setNetworkReachable(reachable: Boolean) { calls.send("reachable=$reachable") }

    suspend fun next(): String = withTimeout(5_000) { calls.receive() }
    suspend fun none(forMillis: Long): String? = withTimeoutOrNull(forMillis) { calls.receive() }
}

class LifecycleBinderTest {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val foreground = Channel<Boolean>(Channel.UNLIMITED)
    private val online = Channel<Boolean>(Channel.UNLIMITED)

    @After
    fun tearDown() = scope.cancel()

    @Test
    fun reportsChangesAndDebouncesOnlyGoingOffline(): Unit = runBlocking {
        val target = RecordingTarget()
        val binder = LifecycleBinder(target, foreground.receiveAsFlow(), online.receiveAsFlow(), scope, 300)
        online.send(true)
        assertEquals("reachable=true", target.next())
        foreground.send(true)
        assertEquals("foreground=true", target.next())
        foreground.send(true)
        assertNull("a repeated value is not reported", target.none(200))
        foreground.send(false)
        assertEquals("background at once", "foreground=false", target.next())

        // A handover: lost, then available again within the debounce: nothing reported.
        online.send(false)
        delay(50)
        online.send(true)
        assertNull("a short outage is not reported", target.none(600))

        // A real outage: reported once it lasted the debounce; back online at once.
        val lost = System.nanoTime()
        online.send(false)
        assertEquals("reachable=false", target.next())
        val waited = (System.nanoTime() - lost) / 1_000_000
        assertTrue("offline reported after $waited ms", waited >= 290)
        val back = System.nanoTime()
        online.send(true)
        assertEquals("reachable=true", target.next())
        assertTrue("online reported at once", (System.nanoTime() - back) / 1_000_000 < 250)

        // Opt-out: a closed binding reports nothing more.
        binder.close()
        assertFalse(binder.isActive)
        online.send(false)
        foreground.send(true)
        assertNull(target.none(600))
    }

    @Test
    fun theFirstValueIsReportedAtOnceEvenOffline(): Unit = runBlocking {
        val target = RecordingTarget()
        LifecycleBinder(target, foreground.receiveAsFlow(), online.receiveAsFlow(), scope, 5_000)
        val start = System.nanoTime()
        online.send(false)
        assertEquals("reachable=false", target.next())
        assertTrue((System.nanoTime() - start) / 1_000_000 < 2_000)
    }
}

class LifecycleBindingClientTest : Fixture() {

    @Test
    fun drivesARealClientUntilClosedOrShutDown(): Unit = runBlocking {
        val alice = connect("alice")
        alice.connectionState.await("connected") { it is ConnectionState.Connected }
        val foreground = MutableStateFlow(true)
        val online = MutableStateFlow(true)
        val binding = alice.bindLifecycle(foreground, online, offlineDebounceMillis = 200)

        online.value = false
        alice.connectionState.await("waiting for the network") { it is ConnectionState.WaitingForNetwork }
        online.value = true
        alice.connectionState.await("connected again") { it is ConnectionState.Connected }

        // Opt-out: after close, the OS inputs no longer reach the client.
        binding.close()
        online.value = false
        delay(800)
        assertTrue(alice.connectionState.value is ConnectionState.Connected)

        // A binding ends with its client.
        val second = alice.bindLifecycle(foreground, online, offlineDebounceMillis = 200)
        assertTrue(second.isActive)
        alice.close()
        withTimeout(5_000) { while (second.isActive) delay(20) }
    }
}
