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
        // libzstd1 ships without headers on the target image: Sources/CZstd declares what we use.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .target(
            name: "TrailMerge",
            dependencies: ["CZlib", "CZstd"],
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
