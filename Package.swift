// swift-tools-version:6.0
import PackageDescription

/// `nifti1_io.h` includes `<znzlib.h>` from /usr/include/nifti, so every target
/// that imports the NIfTI shim needs that directory on its C include path.
/// Compute modules build optimised even in debug: the test suite runs real
/// networks and volumes, which would take minutes unoptimised.
let niftiInclude: [CSetting] = [.unsafeFlags(["-I/usr/include/nifti"])]
let niftiSwift: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I/usr/include/nifti"])]

let package = Package(
    name: "Lumen",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lumen", targets: ["lumen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // Already in the graph through Hummingbird; named here for LumenCluster's JobMonitor service.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CNIfTI", path: "Sources/CNIfTI"),
        .systemLibrary(name: "CLibSSH", path: "Sources/CLibSSH"),
        .target(name: "LumenTensor", dependencies: ["CBLAS"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "LumenNN", dependencies: ["LumenTensor"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "LumenIO", dependencies: ["LumenTensor", "CNIfTI", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                cSettings: niftiInclude, swiftSettings: niftiSwift + [.unsafeFlags(["-O"])]),
        .target(name: "LumenPhantom", dependencies: ["LumenTensor", "LumenIO"],
                swiftSettings: niftiSwift + [.unsafeFlags(["-O"])]),
        .target(name: "LumenTransforms", dependencies: ["LumenTensor"], swiftSettings: [.unsafeFlags(["-O"])]),
        // Pictures of results (previews, training curves): drawing on LumenIO's PNG writer, nothing more.
        .target(name: "LumenPreview", dependencies: ["LumenIO", "LumenTensor", "LumenTransforms"], swiftSettings: niftiSwift + [.unsafeFlags(["-O"])]),
        .target(name: "LumenInference", dependencies: ["LumenNN", "LumenIO", "LumenTensor", "LumenTransforms"],
                swiftSettings: niftiSwift + [.unsafeFlags(["-O"])]),
        .target(name: "LumenStore", dependencies: [
            "LumenIO",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: niftiSwift),
        // The workstation side of `lumen tunnel`: libssh only, so it builds without the store or the server.
        .target(name: "LumenTunnel", dependencies: ["CLibSSH"]),
        .target(name: "LumenCluster", dependencies: [
            "LumenStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: niftiSwift),
        .target(name: "LumenModels", dependencies: [
            "LumenInference", "LumenStore", "LumenIO", "LumenPhantom", "LumenTensor", "LumenCluster", "LumenPreview",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: niftiSwift),
        .target(name: "LumenServer", dependencies: [
            "LumenStore", "LumenIO", "LumenInference", "LumenModels", "LumenCluster", "LumenTransforms", "LumenTensor",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: niftiSwift),
        .executableTarget(name: "lumen", dependencies: [
            "LumenIO", "LumenNN", "LumenPhantom", "LumenInference", "LumenModels", "LumenCluster", "LumenStore", "LumenServer", "LumenTunnel",
            "LumenPreview",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: niftiSwift),
        .testTarget(name: "LumenTensorTests", dependencies: ["LumenTensor"]),
        .testTarget(name: "LumenNNTests", dependencies: ["LumenNN", "LumenIO"], swiftSettings: niftiSwift),
        .testTarget(name: "LumenIOTests", dependencies: ["LumenIO", "LumenPhantom"], swiftSettings: niftiSwift),
        .testTarget(name: "LumenTransformsTests", dependencies: ["LumenTransforms", "LumenIO"], swiftSettings: niftiSwift),
        .testTarget(name: "LumenInferenceTests", dependencies: ["LumenInference", "LumenIO", "LumenPhantom"], swiftSettings: niftiSwift),
        .testTarget(name: "LumenPreviewTests", dependencies: ["LumenPreview", "LumenIO", "LumenTensor"], swiftSettings: niftiSwift),
        .testTarget(name: "LumenPhantomTests", dependencies: ["LumenPhantom"], swiftSettings: niftiSwift),
        .testTarget(name: "LumenStoreTests", dependencies: [
            "LumenStore", "LumenIO", .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: niftiSwift),
        .testTarget(name: "LumenClusterTests", dependencies: [
            "LumenCluster", "LumenStore",
        ], exclude: ["Fixtures"], swiftSettings: niftiSwift),
        .testTarget(name: "LumenTunnelTests", dependencies: ["LumenTunnel"]),
        .testTarget(name: "LumenServerTests", dependencies: [
            "LumenServer", "LumenStore", "LumenIO", "LumenInference", "LumenModels", "LumenPhantom", "LumenTensor",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: niftiSwift),
    ]
)
