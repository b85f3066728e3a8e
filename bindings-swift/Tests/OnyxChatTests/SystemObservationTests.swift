// What a client follows by itself: on macOS the app being hidden and shown again (the test
// posts NSApplication's notifications) and not when opened without it; on every platform, what
// the platform offers.
import Foundation
import OnyxChat
import XCTest
#if canImport(AppKit)
import AppKit
#endif

final class SystemAvailabilityTests: XCTestCase {

    func testAvailableObservationsMatchThePlatform() {
        #if os(Linux) || os(Windows)
        XCTAssertEqual(SystemObservation.available, [])
        #else
        XCTAssertEqual(SystemObservation.available, .all)
        #endif
    }
}

#if os(macOS)
final class SystemObservationTests: Fixture {

    func testHidingTheAppClosesRealtimeUnlessOptedOut() async throws {
        let alice = try await connect("alice", observing: .appLifecycle)
        let bob = try await connect("bob", observing: [])
        try await alice.connectionState.awaitFirst("alice connected") { $0 == .connected }
        try await bob.connectionState.awaitFirst("bob connected") { $0 == .connected }

        await MainActor.run {
            NotificationCenter.default.post(name: NSApplication.didHideNotification, object: nil)
        }
        // After the background grace period (15 s) the client that follows the app closes realtime.
        try await alice.connectionState.awaitFirst("alice in the background", timeout: 40) {
            $0 == .disconnected(reason: "background")
        }
        // Bob's client saw the same notification and, opted out, stays connected.
        XCTAssertEqual(bob.currentConnectionState, .connected)

        await MainActor.run {
            NotificationCenter.default.post(name: NSApplication.didUnhideNotification, object: nil)
        }
        try await alice.connectionState.awaitFirst("alice back in the foreground") { $0 == .connected }
    }
}
#endif
