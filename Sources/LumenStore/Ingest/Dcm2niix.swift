import Foundation

/// Runs Debian's dcm2niix on a folder of (already checked) DICOM files.
struct Dcm2niix {
    var executable: String

    /// `-b n`: no JSON sidecar (it would carry names and dates); `-ba y` in case
    /// one is ever written; `-g i`: ignore a user defaults file; a fixed `-f`
    /// pattern so no patient or protocol text reaches the file name.
    func convert(folder: URL, output: URL) throws -> [URL] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable, "-g", "i", "-b", "n", "-ba", "y", "-z", "n", "-f", "lumen_%s", "-w", "1",
                             "-o", output.path, folder.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            throw StoreError.conversionFailed(reason: "cannot start dcm2niix (\(error)); install Debian's dcm2niix package (scripts/setup does)")
        }
        // Drain before waiting so a chatty dcm2niix cannot block on a full pipe.
        _ = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            throw StoreError.conversionFailed(reason: "dcm2niix is not installed; install Debian's dcm2niix package (scripts/setup does)")
        }
        let files = ((try? FileManager.default.contentsOfDirectory(at: output, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.lastPathComponent.hasSuffix(".nii") || $0.lastPathComponent.hasSuffix(".nii.gz") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        // Its output is not echoed: dcm2niix's messages may quote DICOM values.
        guard process.terminationStatus == 0, !files.isEmpty else {
            throw StoreError.conversionFailed(
                reason: "dcm2niix exited with status \(process.terminationStatus) and wrote \(files.count) volumes; check that the folder holds one image series")
        }
        return files
    }
}
