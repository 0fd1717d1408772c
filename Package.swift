// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "trailmerge",
    products: [
        .executable(name: "trailmerge", targets: ["trailmerge"]),
        .library(name: "TrailMerge", targets: ["TrailMerge"]),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // libdeflate through its runtime library only (libdeflate0); see Sources/CDeflate/shim.h.
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate"),
        // libzstd1 ships without headers on the target image: Sources/CZstd declares what we use.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        // OpenSSL's libcrypto (libssl-dev is on the image): SHA-256 and HMAC for SigV4.
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(
            name: "TrailMerge",
            dependencies: ["CZlib", "CDeflate", "CZstd", "CCrypto"],
            path: "Sources/TrailMerge"
        ),
        .executableTarget(name: "trailmerge", dependencies: ["TrailMerge"], path: "Sources/trailmerge"),
        .executableTarget(
            name: "trailmerge-bench",
            dependencies: ["TrailMerge"],
            path: "Benchmarks/TrailMergeBenchmarks"
        ),
        .testTarget(
            name: "TrailMergeTests",
            dependencies: ["TrailMerge"],
            path: "Tests/TrailMergeTests",
            exclude: ["Fixtures"]
        ),
    ]
)
