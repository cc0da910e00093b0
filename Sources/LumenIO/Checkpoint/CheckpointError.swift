import Foundation

/// Why a weights file could not be turned into a state dict. Messages name the
/// file, so an admin uploading a model sees what to fix.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case notACheckpoint(file: String)
    case truncated(file: String, detail: String)
    case badZip(file: String, detail: String)
    case compressedEntry(file: String, entry: String, method: Int)
    case missingEntry(file: String, entry: String)
    case badPickle(file: String, detail: String)
    case unsupportedGlobal(file: String, name: String)
    case pickledModule(file: String, className: String)
    case torchScript(file: String)
    case unsupportedDType(file: String, dtype: String)
    case bigEndian(file: String)
    case storageOutOfRange(file: String, key: String, detail: String)
    case noStateDict(file: String, keys: [String])
    case duplicateKey(file: String, key: String)
    case badSafetensors(file: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let r):
            return "\(f): cannot be read (\(r))"
        case .notACheckpoint(let f):
            return "\(f): not a PyTorch checkpoint (expected a torch.save zip, a legacy torch.save pickle or a safetensors file)"
        case .truncated(let f, let d):
            return "\(f): truncated or corrupt: \(d); copy or upload the file again"
        case .badZip(let f, let d):
            return "\(f): broken zip structure: \(d)"
        case .compressedEntry(let f, let e, let m):
            return "\(f): zip entry \(e) is compressed (method \(m)); torch.save stores entries uncompressed, so save it again with torch.save instead of re-zipping it"
        case .missingEntry(let f, let e):
            return "\(f): the archive has no \(e)"
        case .badPickle(let f, let d):
            return "\(f): cannot read the pickled state dict: \(d)"
        case .unsupportedGlobal(let f, let n):
            return "\(f): refers to \(n), which a state dict never needs; only tensors and plain values are loaded (save model.state_dict())"
        case .pickledModule(let f, let c):
            return "\(f) holds a pickled module (\(c)), not a state dict; re-save with torch.save(model.state_dict())"
        case .torchScript(let f):
            return "\(f): is a TorchScript archive (model.ts), not a state dict; use the bundle's models/model.pt"
        case .unsupportedDType(let f, let d):
            return "\(f): tensor dtype \(d) is not supported (float64/32/16, bfloat16, int64/32/16/8, uint8 and bool are)"
        case .bigEndian(let f):
            return "\(f): was saved on a big-endian machine; load and re-save it with torch on a little-endian one"
        case .storageOutOfRange(let f, let k, let d):
            return "\(f): tensor data of storage \(k) is out of range: \(d)"
        case .noStateDict(let f, let keys):
            return "\(f): no state dict found; top-level keys are \(keys.sorted()); expected tensors, or a dict of tensors under model, state_dict, net or network"
        case .duplicateKey(let f, let k):
            return "\(f): key \(k) appears twice once the DataParallel prefix module. is removed"
        case .badSafetensors(let f, let d):
            return "\(f): invalid safetensors file: \(d)"
        }
    }
}

/// Foundation callers (and `error.localizedDescription`) get the same message.
extension CheckpointError: LocalizedError {
    public var errorDescription: String? { description }
}
