import ArgumentParser
import Foundation

/// Library errors already read as sentences ("ct.nii.gz: truncated: …"); print
/// them plainly on stderr and exit non-zero instead of showing usage.
func withCLIError<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("lumen: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
