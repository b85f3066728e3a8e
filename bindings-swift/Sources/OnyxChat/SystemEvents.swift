// What a ChatClient follows on its own: the app moving to the background and back (UIKit on
// iOS, AppKit on macOS) and the network path (NWPathMonitor), reported to the core in order as
// `setForeground` / `setNetworkReachable`. On a platform without these (Linux) nothing is followed.
import Foundation
#if canImport(Network)
import Network
#endif
#if canImport(UIKit) && !os(watchOS)
import UIKit
#elseif canImport(AppKit)
import AppKit
#endif

/// What a ``ChatClient`` follows by itself (the `observing:` argument of `ChatClient.connect`).
/// The default, ``all``, needs no code in the app; pass `[]` (or leave a part out) to report that
/// part yourself with ``ChatClient/setForeground(_:)`` or ``ChatClient/setNetworkReachable(_:)``.
public struct SystemObservation: OptionSet, Sendable {
    /// The option bits.
    public let rawValue: Int

    /// The options of `rawValue`'s bits.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// The app moving to the background and back: on iOS, `UIApplication`'s
    /// `didEnterBackgroundNotification` / `willEnterForegroundNotification`; on macOS,
    /// `NSApplication`'s `didHideNotification` / `didUnhideNotification` (a hidden app, like a
    /// hidden browser tab). In the background the client closes its realtime connection after a
    /// short grace period; back in the foreground it reconnects at once.
    public static let appLifecycle = SystemObservation(rawValue: 1 << 0)

    /// Network reachability from `NWPathMonitor`: offline, nothing is tried; back online,
    /// everything resumes at once.
    public static let networkReachability = SystemObservation(rawValue: 1 << 1)

    /// Both (the default).
    public static let all: SystemObservation = [.appLifecycle, .networkReachability]

    /// What this platform can follow: both on Apple platforms, nothing on Linux.
    public static var available: SystemObservation {
        var available: SystemObservation = []
        #if (canImport(UIKit) && !os(watchOS)) || canImport(AppKit)
        available.insert(.appLifecycle)
        #endif
        #if canImport(Network)
        available.insert(.networkReachability)
        #endif
        return available
    }
}

/// The observers of one client: system notifications go into an ordered queue that one task
/// reports to the core (repeated values are dropped). ``stop()`` (or releasing it) removes them.
final class SystemEvents: Sendable {
    private enum Event: Sendable {
        case foreground(Bool)
        case reachable(Bool)
    }

    private let events: AsyncStream<Event>.Continuation
    private let observers = Locked<[any NSObjectProtocol]>([])
    #if canImport(Network)
    private let monitor = Locked<NWPathMonitor?>(nil)
    #endif

    /// Starts following what `observed` asks for and this platform has, for `ffi`; `nil` when
    /// that is nothing.
    static func start(_ observed: SystemObservation, ffi: FfiClient) async -> SystemEvents? {
        let followed = observed.intersection(.available)
        if followed.isEmpty {
            return nil
        }
        let system = SystemEvents(ffi: ffi)
        #if canImport(Network)
        if followed.contains(.networkReachability) {
            system.followNetwork()
        }
        #endif
        #if (canImport(UIKit) && !os(watchOS)) || canImport(AppKit)
        if followed.contains(.appLifecycle) {
            await system.followAppLifecycle()
        }
        #endif
        return system
    }

    private init(ffi: FfiClient) {
        var continuation: AsyncStream<Event>.Continuation?
        let stream = AsyncStream<Event>(bufferingPolicy: .unbounded) { continuation = $0 }
        events = continuation!
        // Holds the client weakly: following the system never keeps a client alive.
        Task { [weak ffi] in
            var foreground: Bool?
            var reachable: Bool?
            for await event in stream {
                guard let ffi else { return }
                switch event {
                case let .foreground(value) where value != foreground:
                    foreground = value
                    try? await ffi.setForeground(foreground: value)
                case let .reachable(value) where value != reachable:
                    reachable = value
                    try? await ffi.setNetworkReachable(reachable: value)
                default:
                    break
                }
            }
        }
    }

    deinit {
        stop()
    }

    /// Stops following (idempotent): removes the observers and ends the queue.
    func stop() {
        let tokens = observers.withValue { tokens -> [any NSObjectProtocol] in
            defer { tokens = [] }
            return tokens
        }
        for token in tokens {
            NotificationCenter.default.removeObserver(token)
        }
        #if canImport(Network)
        monitor.withValue { monitor in
            monitor?.cancel()
            monitor = nil
        }
        #endif
        events.finish()
    }

    #if canImport(Network)
    /// Reports every path change: `.satisfied` is reachable, anything else is not. The monitor
    /// reports the current path first, right after it starts.
    private func followNetwork() {
        let events = self.events
        let pathMonitor = NWPathMonitor()
        pathMonitor.pathUpdateHandler = { @Sendable path in
            events.yield(.reachable(path.status == .satisfied))
        }
        pathMonitor.start(queue: DispatchQueue(label: "com.onyxchat.reachability"))
        monitor.withValue { $0 = pathMonitor }
    }
    #endif

    #if (canImport(UIKit) && !os(watchOS)) || canImport(AppKit)
    /// Reports the app entering the background and coming back. On the main actor: the
    /// notification names belong to the main-actor-isolated application class.
    @MainActor
    private func followAppLifecycle() {
        #if canImport(UIKit) && !os(watchOS)
        let background = UIApplication.didEnterBackgroundNotification
        let foreground = UIApplication.willEnterForegroundNotification
        #else
        let background = NSApplication.didHideNotification
        let foreground = NSApplication.didUnhideNotification
        #endif
        let events = self.events
        let center = NotificationCenter.default
        let tokens = [
            center.addObserver(forName: background, object: nil, queue: nil) { @Sendable _ in
                events.yield(.foreground(false))
            },
            center.addObserver(forName: foreground, object: nil, queue: nil) { @Sendable _ in
                events.yield(.foreground(true))
            },
        ]
        observers.withValue { $0.append(contentsOf: tokens) }
    }
    #endif
}
