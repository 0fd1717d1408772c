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
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(
            name: "TrailMerge",
            dependencies: ["CZlib", "CCrypto"],
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
