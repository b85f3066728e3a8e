// Entry point of the JVM suite (run by `cargo xtask test`): runs the JUnit classes and
// prints the `N passed, N failed` line CI reads; exits non-zero on any failure.
package com.onyxchat

import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import kotlin.system.exitProcess

fun main() {
    val result = JUnitCore.runClasses(
        ChannelStateTest::class.java,
        ChatClientTest::class.java,
        ConversationsTest::class.java,
        ErrorsTest::class.java,
        LifecycleBinderTest::class.java,
        LifecycleBindingClientTest::class.java,
        MembersTest::class.java,
        ViewModelsTest::class.java,
    )
    result.failures.forEach { f: Failure ->
        System.err.println("FAILED ${f.testHeader}\n${f.trace}")
    }
    val failed = result.failureCount
    println("kotlin: ${result.runCount - failed} passed, $failed failed (${result.ignoreCount} ignored)")
    exitProcess(if (failed == 0 && result.runCount > 0) 0 else 1)
}
