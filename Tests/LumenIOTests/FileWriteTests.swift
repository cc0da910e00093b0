import Foundation
import Testing
@testable import LumenIO

/// What a kill or a reader could see: only whole files under their own names.
@Suite struct FileWriteTests {
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("temp names keep the whole extension", arguments: [
        ("ct.nii.gz", ".nii.gz"), ("mask.NII.GZ", ".NII.GZ"), ("a.hdr", ".hdr"), ("model.tar.gz", ".tar.gz"),
        ("index.json", ".json"), ("README", ""), (".hidden", ""),
    ])
    func extensions(name: String, ext: String) {
        #expect(AtomicFile.multiExtension(of: name) == ext)
        let temp = AtomicFile.temporaryURL(for: URL(fileURLWithPath: "/store/\(name)"))
        #expect(temp.lastPathComponent.hasPrefix("."))
        #expect(temp.lastPathComponent.hasSuffix(ext))
        #expect(temp.deletingLastPathComponent().path == "/store")
    }

    @Test func atomicWriteReplacesAndLeavesNothingElse() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("label.nii.gz")
        try AtomicFile.write(Data("first".utf8), to: target)
        try AtomicFile.write(Data("second".utf8), to: target)
        #expect(try Data(contentsOf: target) == Data("second".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["label.nii.gz"])
    }

    @Test func newFileTruncatesAndStreams() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("upload.bin")
        try Data("a much longer old body".utf8).write(to: target)
        let handle = try NewFile.open(target)
        try handle.write(contentsOf: Data("new".utf8))
        try handle.close()
        #expect(try Data(contentsOf: target) == Data("new".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["upload.bin"])
    }

    @Test func newFileInAMissingFolderNamesThePath() {
        let target = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/upload.bin")
        #expect {
            _ = try NewFile.open(target)
        } throws: { error in
            "\(error)".contains(target.path) && "\(error)".contains("No such file")
        }
    }
}
