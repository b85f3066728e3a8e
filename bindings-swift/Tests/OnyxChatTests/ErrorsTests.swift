// Typed errors across the FFI, as Swift errors: each failure kind is its own ChatError case, a
// refused token surfaces as .authFailed, a closed client says so. Mirrors Kotlin's ErrorsTest.
#if os(macOS) || os(Linux)
import Foundation
import OnyxChat
import XCTest

final class ErrorsTests: Fixture {

    /// Runs `body`, which must throw the ChatError case `match` recognises; returns what it extracts.
    private func expect<T>(
        _ expected: String,
        _ match: (ChatError) -> T?,
        _ body: () async throws -> Void
    ) async throws -> T {
        do {
            try await body()
        } catch let error as ChatError {
            if let matched = match(error) { return matched }
            throw TestFailure("expected \(expected), got \(error)")
        } catch {
            throw TestFailure("expected \(expected), got \(error)")
        }
        throw TestFailure("expected \(expected), nothing was thrown")
    }

    func testBadInputIsRefusedWithTheReasonAndNothingIsStored() async throws {
        let alice = try await connect("alice")
        let badCid = try await expect("InvalidInput", { $0.invalidInputReason }) {
            try await alice.sendMessage(cid: "no-colon", text: "hi")
        }
        XCTAssertTrue(badCid.contains("no-colon"), badCid)
        let cid = try await channel(alice)
        _ = try await expect("InvalidInput", { $0.invalidInputReason }) {
            try await alice.sendMessage(cid: cid, text: String(repeating: "x", count: 5001))
        }
        _ = try await expect("InvalidInput", { $0.invalidInputReason }) {
            try await alice.editMessage(messageId: "not-a-uuid", text: "x")
        }
        let outbox = try await alice.outbox()
        XCTAssertTrue(outbox.allSatisfy { $0.kind != "send_message" })
        let list = try await alice.messages(cid: cid)
        XCTAssertTrue(list.items.isEmpty)
    }

    func testUnknownIdsHaveTheirOwnErrors() async throws {
        let alice = try await connect("alice")
        let missing = UUID().uuidString.lowercased()
        let notFound = try await expect("MessageNotFound", { $0.missingMessageId }) {
            try await alice.editMessage(messageId: missing, text: "x")
        }
        XCTAssertEqual(notFound, missing)
        let unknown = try await expect("UnknownOperation", { $0.unknownOpId }) {
            try await alice.retry(opId: missing)
        }
        XCTAssertEqual(unknown, missing)
    }

    func testARefusedTokenStopsTheConnectionUntilRefreshed() async throws {
        let refuse = TestBox(true)
        let tokens = server.tokenProvider(user: "alice")
        let client = try await ChatClient.connect(
            serverURL: server.url,
            appId: server.appId,
            userId: "alice",
            dataDirectory: newDirectory()
        ) {
            if refuse.value { throw TokenFetchError.Refused(reason: "signed out") }
            return try await tokens.fetchToken()
        }
        do {
            try await client.connectionState.awaitFirst("auth failed") { state in
                if case .authFailed = state { return true }
                return false
            }
            let status = try await client.status()
            XCTAssertTrue(status.authStopped)
            refuse.value = false
            try await client.refreshToken()
            try await client.connectionState.awaitFirst("connected after refresh") { $0 == .connected }
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    func testAClosedClientSaysSo() async throws {
        let alice = try await connect("alice")
        let cid = try await channel(alice)
        await alice.shutdown()
        _ = try await expect("Closed", { $0 == .Closed ? true : nil }) {
            try await alice.sendMessage(cid: cid, text: "too late")
        }
    }
}

private extension ChatError {
    var invalidInputReason: String? {
        if case let .InvalidInput(reason) = self { return reason }
        return nil
    }

    var missingMessageId: String? {
        if case let .MessageNotFound(id) = self { return id }
        return nil
    }

    var unknownOpId: String? {
        if case let .UnknownOperation(opId) = self { return opId }
        return nil
    }
}
#endif
