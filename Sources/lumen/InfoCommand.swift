import ArgumentParser
import Foundation
import LumenIO

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print what a radiologist or engineer needs to know about a NIfTI volume.")

    @Argument(help: "A .nii, .nii.gz or .hdr/.img file.")
    var image: String

    @Option(help: "Refuse volumes with more voxels than this.")
    var maxVoxels: Int = Volume.defaultMaxVoxels

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let volume = try withCLIError { try Volume.read(URL(fileURLWithPath: image), maxVoxels: maxVoxels) }
        print(json ? VolumeReport(volume).json : VolumeReport(volume).text)
    }
}
