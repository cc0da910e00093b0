import Foundation

/// Opens a fresh file for streaming into. Not `FileManager.createFile`: corelibs
/// Foundation writes that through its own `.dat.nosync…` temp file and renames it,
/// so a kill in between leaves a stray file under a name of its choosing.
public enum NewFile {
    public static func open(_ url: URL, mode: mode_t = 0o644) throws -> FileHandle {
        let fd = Foundation.open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw AtomicFile.Failure(path: url.path, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }
}
