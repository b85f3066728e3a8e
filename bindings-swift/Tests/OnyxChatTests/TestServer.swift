// Runs the real chat-server (`serve --dev`) for the tests on a fixed port and data directory (so it
// can be stopped and restarted), with the app id and demo users' tokens parsed from its output.
// macOS and Linux: the tests run chat-server with Process, which iOS does not have.
#if os(macOS) || os(Linux)
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import Foundation
import OnyxChat

/// A test failure with a readable message (thrown from helpers and set-up).
struct TestFailure: Error, CustomStringConvertible, LocalizedError {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    var errorDescription: String? { description }
}

/// A value behind a lock, shared between a test and callbacks on SDK threads.
final class TestBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    var value: Value {
        get {
            lock.lock()
            defer { lock.unlock() }
            return stored
        }
        set {
            lock.lock()
            defer { lock.unlock() }
            stored = newValue
        }
    }

    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&stored)
    }
}

/// The chat-server process. Driven from one test at a time (start/stop/close are not called
/// concurrently); the tokens, read by token providers on SDK threads, are behind a lock.
final class TestServer: @unchecked Sendable {
    private let binary: String
    private let dataDirectory: URL
    private let port: UInt16
    private var process: Process?
    private let tokenStore = TestBox<[String: String]>([:])

    /// The server's base URL.
    let url: URL

    /// The dev app's id.
    private(set) var appId = ""

    /// Tokens of the demo users (alice, bob, carol, dave), valid across restarts.
    var tokens: [String: String] {
        tokenStore.value
    }

    init() throws {
        guard let binary = ProcessInfo.processInfo.environment["ONYXCHAT_SERVER_BIN"], !binary.isEmpty else {
            throw TestFailure(
                "ONYXCHAT_SERVER_BIN must point at the chat-server binary "
                    + "(cargo build -p chat-server, then ONYXCHAT_SERVER_BIN=$PWD/target/debug/chat-server swift test)"
            )
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestFailure("ONYXCHAT_SERVER_BIN=\(binary) is not an executable file")
        }
        self.binary = binary
        port = try freeLoopbackPort()
        guard let url = URL(string: "http://127.0.0.1:\(port)") else {
            throw TestFailure("no URL for port \(port)")
        }
        self.url = url
        dataDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("onyxchat-server-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
    }

    /// A token provider for `user`, as an app's backend would serve it.
    func tokenProvider(user: String) -> any TokenProvider {
        DemoTokens(user: user, tokens: tokenStore)
    }

    /// Starts the server (again, after ``stop()``, on the same port and data) and returns once it
    /// printed the app id and every demo token (it listens before printing them).
    @discardableResult
    func start() throws -> TestServer {
        guard process == nil else { throw TestFailure("chat-server is already running") }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = [
            "serve", "--dev", "--addr", "127.0.0.1:\(port)", "--data-dir", dataDirectory.path,
        ]
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = pipe
        try child.run()
        process = child

        let reader = pipe.fileHandleForReading
        var pending = Data()
        var output = ""
        var app: String?
        var found: [String: String] = [:]
        while app == nil || found["dave"] == nil {
            let chunk = reader.availableData
            if chunk.isEmpty {
                stop()
                throw TestFailure("chat-server exited before it was ready:\n\(output)")
            }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                output += line + "\n"
                switch parseDevLine(line) {
                case let .appId(id)?: app = id
                case let .token(user, token)?: found[user] = token
                case nil: break
                }
            }
        }
        appId = app ?? ""
        tokenStore.mutate { $0.merge(found) { _, new in new } }
        // Keep draining the server's log so it never blocks on a full pipe (ends at EOF, when
        // the process is stopped).
        Thread.detachNewThread {
            while !reader.availableData.isEmpty {}
        }
        return self
    }

    /// Stops the server process (SIGTERM, then SIGKILL after 10 s) and waits for it to exit.
    func stop() {
        guard let running = process else { return }
        process = nil
        running.terminate()
        if !waitForExit(running, seconds: 10) {
            kill(running.processIdentifier, SIGKILL)
            _ = waitForExit(running, seconds: 10)
        }
    }

    /// Stops the server and deletes its data.
    func close() {
        stop()
        try? FileManager.default.removeItem(at: dataDirectory)
    }
}

/// Serves the demo users' tokens the server printed.
private struct DemoTokens: TokenProvider {
    let user: String
    let tokens: TestBox<[String: String]>

    func fetchToken() async throws -> String {
        guard let token = tokens.value[user] else {
            throw TokenFetchError.Unavailable(reason: "no demo token for \(user)")
        }
        return token
    }
}

/// What a line of `serve --dev` output says.
private enum DevLine {
    case appId(String)
    case token(user: String, token: String)
}

/// Parses `  app_id:     app_x` and `    alice  eyJ…` (indented, two fields); log lines start
/// with a timestamp or an escape sequence, never with a space.
private func parseDevLine(_ line: String) -> DevLine? {
    guard let first = line.first, first == " " || first == "\t" else { return nil }
    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard fields.count == 2 else { return nil }
    let key = String(fields[0])
    let value = String(fields[1])
    if key == "app_id:" {
        return .appId(value)
    }
    let isName = key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    if isName, value.hasPrefix("ey") {
        return .token(user: key, token: value)
    }
    return nil
}

private func waitForExit(_ process: Process, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning {
        if Date() > deadline { return false }
        usleep(20_000)
    }
    return true
}

/// A free TCP port on 127.0.0.1: binds a throwaway socket to port 0 and reads the port the
/// kernel picked (released again before the server binds it).
private func freeLoopbackPort() throws -> UInt16 {
    #if canImport(Darwin)
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #else
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // an enum in Glibc
    #endif
    guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
    #if canImport(Darwin)
    defer { _ = Darwin.close(fd) }
    #else
    defer { _ = Glibc.close(fd) }
    #endif
    var address = sockaddr_in()
    #if canImport(Darwin)
    address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)  // BSD sockets only
    #endif
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            bind(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw TestFailure("bind() failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            getsockname(fd, address, &length)
        }
    }
    guard named == 0 else { throw TestFailure("getsockname() failed: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
}
#endif
