// Runs the real chat-server (`serve --dev`) as a process for the JVM tests: a fresh data
// directory per server, a fixed port so it can be stopped and started again, and the
// app id and demo users' tokens parsed from what dev mode prints.
package com.onyxchat

import java.io.Closeable
import java.io.File
import java.net.ServerSocket
import java.nio.file.Files
import java.util.concurrent.TimeUnit

class TestServer : Closeable {
    private val binary = System.getenv("ONYXCHAT_SERVER_BIN")
        ?: error("ONYXCHAT_SERVER_BIN must point at the chat-server binary (cargo xtask test sets it)")
    private val dataDir: File = Files.createTempDirectory("onyxchat-server").toFile()
    private val port: Int = ServerSocket(0).use { it.localPort }
    private var process: Process? = null

    /** The server's base URL. */
    val url = "http://127.0.0.1:$port"

    /** The dev app's id. */
    lateinit var appId: String
        private set

    /** Tokens of the demo users (alice, bob, carol, dave), valid across restarts. */
    val tokens: MutableMap<String, String> = java.util.concurrent.ConcurrentHashMap()

    /** A token provider for [user], as an app's backend would serve it. */
    fun tokenProvider(user: String) = TokenProvider { tokens.getValue(user) }

    /** Starts the server (again, after [stop], on the same port and data). */
    fun start(): TestServer {
        check(process == null) { "already running" }
        val p = ProcessBuilder(
            binary, "serve", "--dev", "--addr", "127.0.0.1:$port", "--data-dir", dataDir.path,
        ).redirectErrorStream(true).start()
        process = p
        val lines = p.inputStream.bufferedReader()
        val token = Regex("""^\s+(\w+)\s+(ey\S+)\s*$""")
        val app = Regex("""^\s+app_id:\s+(\S+)\s*$""")
        val output = StringBuilder()
        val printed = HashMap<String, String>()
        // Dev mode prints the tokens once it listens: wait for the last demo user's.
        while (!printed.containsKey("dave")) {
            val line = lines.readLine() ?: error("chat-server exited before it was ready:\n$output")
            output.appendLine(line)
            app.find(line)?.let { appId = it.groupValues[1] }
            token.find(line)?.let { printed[it.groupValues[1]] = it.groupValues[2] }
        }
        check(this::appId.isInitialized) { "no app_id in:\n$output" }
        tokens.putAll(printed)
        // Keep draining the server's log so it never blocks on a full pipe (its last lines
        // are kept for failure messages).
        Thread {
            try {
                lines.useLines {
                    it.forEach { line ->
                        synchronized(recent) {
                            recent.addLast(line)
                            if (recent.size > 40) recent.removeFirst()
                        }
                    }
                }
            } catch (_: java.io.IOException) {
                // The process was stopped.
            }
        }.apply { isDaemon = true }.start()
        return this
    }

    private val recent = ArrayDeque<String>()

    /** The server's last log lines (for failure messages). */
    fun logTail(): String = synchronized(recent) { recent.joinToString("\n") }

    /** Stops the server process. */
    fun stop() {
        val p = process ?: return
        process = null
        p.destroy()
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor()
        }
    }

    override fun close() {
        stop()
        dataDir.deleteRecursively()
    }
}
