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
        .target(
            name: "TrailMerge",
            dependencies: ["CZlib", "CDeflate"],
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
