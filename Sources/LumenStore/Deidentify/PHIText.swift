import Foundation

/// Heuristics for free text (file names, NIfTI header strings) that may name a
/// patient. They err on the side of refusing: a refused upload costs a rename,
/// a leaked name cannot be taken back.
enum PHIText {
    /// Words that make up harmless names and header strings: modalities, anatomy,
    /// dataset words and the tools that write NIfTI headers.
    static let vocabulary: Set<String> = [
        // modalities and sequences
        "ct", "cta", "mr", "mri", "pet", "spect", "us", "xr", "cr", "dx", "nm", "t1", "t1w", "t2", "t2w", "flair",
        "dwi", "adc", "dti", "swi", "bold", "fmri", "mra", "ce", "contrast", "native", "arterial", "venous", "portal",
        "delayed", "phase", "pre", "post", "axial", "coronal", "sagittal", "ax", "cor", "sag", "mip", "lowdose", "hr",
        // anatomy
        "head", "neck", "brain", "chest", "thorax", "abdomen", "abdominal", "abd", "pelvis", "spine", "lung", "lungs",
        "heart", "liver", "spleen", "kidney", "kidneys", "pancreas", "stomach", "aorta", "vessel", "vessels", "artery",
        "arteries", "hepatic", "bone", "bones", "vertebra", "vertebrae", "rib", "ribs", "prostate", "breast", "colon",
        "bladder", "tumor", "tumour", "lesion", "lesions", "organ", "organs", "left", "right", "whole", "body",
        // dataset words
        "image", "images", "img", "imgs", "label", "labels", "labelmap", "seg", "segmentation", "mask", "masks",
        "final", "original", "submitted", "volume", "vol", "scan", "series", "study", "case", "sample", "demo",
        "phantom", "train", "training", "test", "val", "validation", "data", "dataset", "new", "old", "copy", "raw",
        "anon", "anonymized", "anonymised", "defaced", "probability", "prob", "estimate", "none", "unknown", "output",
        "input", "result", "results", "pred", "prediction", "gt", "truth", "ground", "ref", "reference", "nii", "gz",
        // tools that write headers
        "3d", "fsl", "nibabel", "itk", "itksnap", "snap", "slicer", "monai", "lumen", "mrtrix", "spm", "afni", "freesurfer",
        "ants", "niftyreg", "c3d", "dcm2niix", "simpleitk", "torchio", "totalsegmentator", "nnunet", "version",
    ]

    static func tokens(_ text: String) -> [Substring] {
        text.split { !$0.isLetter && !$0.isNumber }
    }

    /// `Doe_John`, `SMITH^JANE`, `John Smith`: two adjacent capitalised words
    /// that are not imaging vocabulary, or a DICOM person-name caret.
    static func looksLikePersonName(_ text: String) -> Bool {
        let chars = Array(text)
        for (i, c) in chars.enumerated() where c == "^" && i > 0 && i + 1 < chars.count
            && chars[i - 1].isLetter && chars[i + 1].isLetter {
            return true
        }
        let words = tokens(text)
        guard words.count >= 2 else { return false }
        func nameLike(_ w: Substring) -> Bool {
            guard w.count >= 2, w.allSatisfy(\.isLetter), !vocabulary.contains(w.lowercased()) else { return false }
            let rest = w.dropFirst()
            return w.first!.isUppercase && (rest.allSatisfy(\.isLowercase) || rest.allSatisfy(\.isUppercase))
        }
        for i in 0..<(words.count - 1) where nameLike(words[i]) && nameLike(words[i + 1]) { return true }
        return false
    }

    /// Runs of six or more digits (MRNs, accession numbers, compact dates) or `MRN123`-style ids.
    static func containsRecordNumber(_ text: String) -> Bool {
        var run = 0
        for c in text {
            run = c.isASCII && c.isNumber ? run + 1 : 0
            if run >= 6 { return true }
        }
        return text.range(of: #"(?i)(mrn|pid|patid|patient[_-]?id|acc)[_\- #:]?[0-9]{2,}"#, options: .regularExpression) != nil
    }

    /// `1980-01-31`, `31.01.1980`, `1980_01_31`.
    static func containsDate(_ text: String) -> Bool {
        text.range(of: #"(19|20)[0-9]{2}[-_./](0[1-9]|1[0-2])[-_./](0[1-9]|[12][0-9]|3[01])"#, options: .regularExpression) != nil
            || text.range(of: #"(0[1-9]|[12][0-9]|3[01])[-_./](0[1-9]|1[0-2])[-_./](19|20)[0-9]{2}"#, options: .regularExpression) != nil
    }

    /// Findings for a file or folder name (extensions stripped), as phrases without the name itself.
    static func nameFindings(_ name: String, what: String) -> [String] {
        var stem = name
        for ext in [".nii.gz", ".nii", ".hdr", ".img", ".gz", ".dcm"] where stem.lowercased().hasSuffix(ext) {
            stem = String(stem.dropLast(ext.count))
        }
        var found: [String] = []
        if looksLikePersonName(stem) { found.append("\(what) looks like a person's name") }
        if containsRecordNumber(stem) { found.append("\(what) contains a record number (6+ digits or an MRN-style id)") }
        if containsDate(stem) { found.append("\(what) contains a date") }
        return found
    }

    /// Header text written by tools ("FSL5.0", "nibabel 5.1") or generic words
    /// ("label"); anything else in a header string is treated as possible PHI.
    static func isHarmlessHeaderText(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "\0")))
        if trimmed.isEmpty { return true }
        for word in tokens(trimmed) {
            let lower = word.lowercased()
            if vocabulary.contains(lower) { continue }
            // version pieces: "5", "0", "v1", "fsl5" style glued versions
            let letters = lower.prefix { $0.isLetter }
            let digits = lower.dropFirst(letters.count)
            if digits.count <= 3, digits.allSatisfy(\.isNumber), letters.isEmpty || letters == "v" || vocabulary.contains(String(letters)) {
                continue
            }
            return false
        }
        return true
    }
}
