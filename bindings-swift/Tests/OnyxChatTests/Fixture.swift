// Shared set-up of the Swift tests: a real chat-server per test, clients with their own cache
// directories, and a bounded wait on streams.
#if os(macOS) || os(Linux)
import Foundation
import OnyxChat
import XCTest

class Fixture: XCTestCase {
    /// This test's server (started before each test, closed after it).
    private(set) var server: TestServer!
    private var clients: [ChatClient] = []
    private var directories: [URL] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        // Kept before starting, so tearDown deletes its data directory even if the start fails.
        let server = try TestServer()
        self.server = server
        try server.start()
    }

    override func tearDown() async throws {
        for client in clients {
            await client.shutdown()
        }
        clients = []
        server?.close()
        server = nil
        for directory in directories {
            try? FileManager.default.removeItem(at: directory)
        }
        directories = []
        try await super.tearDown()
    }

    /// A fresh cache directory, deleted after the test.
    func newDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("onyxchat-cache-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        directories.append(directory)
        return directory
    }

    /// A client of `user` with a fresh on-disk cache (or the given one, to restart it). It
    /// follows nothing of the system unless asked (`observing`): the tests report reachability
    /// themselves, and the host's own network path must not interfere.
    func connect(
        _ user: String,
        dataDirectory: URL? = nil,
        observing: SystemObservation = []
    ) async throws -> ChatClient {
        let directory = try dataDirectory ?? newDirectory()
        let client = try await ChatClient.connect(
            serverURL: server.url,
            appId: server.appId,
            userId: user,
            dataDirectory: directory,
            tokenProvider: server.tokenProvider(user: user),
            observing: observing
        )
        clients.append(client)
        return client
    }

    /// A new channel of `owner` with `members`.
    func channel(_ owner: ChatClient, _ members: String...) async throws -> String {
        try await owner.createChannel(
            kind: .messaging,
            id: "sw-\(UUID().uuidString.lowercased())",
            members: members
        )
    }
}

extension AsyncSequence where Self: Sendable, Element: Sendable {
    /// The first element matching `predicate`, failing after `timeout` seconds (20 by default)
    /// or if the sequence ends first. Stops consuming the sequence when it returns.
    @discardableResult
    func awaitFirst(
        _ what: String,
        timeout: TimeInterval = 20,
        where predicate: @escaping @Sendable (Element) -> Bool
    ) async throws -> Element {
        try await withThrowingTaskGroup(of: Element?.self) { group in
            group.addTask {
                for try await value in self where predicate(value) {
                    return value
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                throw TestFailure("timed out waiting for \(what)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TestFailure("the stream ended before \(what)")
            }
            return value
        }
    }
}

extension Array where Element == MessageItem {
    /// The texts of a message list.
    var texts: [String] {
        map { $0.message.text }
    }
}

extension Array {
    /// The only element, or `nil` if there are none or several (Kotlin's `singleOrNull`).
    var single: Element? {
        count == 1 ? first : nil
    }
}
#endif
