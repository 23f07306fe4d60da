/// RGB to grayscale, identical to OpenCV's `cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)` for `uint8`
/// (the luma weights 0.299, 0.587, 0.114 in 15-bit fixed point, rounded half up):
///
///     gray = (9798 * R + 19235 * G + 3735 * B + 16384) >> 15
///
/// Checked against OpenCV over all 2^24 colours. ALE hands out grayscale screens directly
/// (its palette's own luminance), so the environment does not need this; it is here for RGB
/// observations produced elsewhere (recorded videos, other emulators) that must match
/// Python pipelines using OpenCV.
public enum Grayscale {
    /// Converts `pixelCount` interleaved RGB pixels (`3 * pixelCount` bytes) into
    /// `pixelCount` gray bytes. The buffers must not overlap.
    public static func fromRGB(_ rgb: UnsafePointer<UInt8>, into gray: UnsafeMutablePointer<UInt8>,
                               pixelCount: Int) {
        precondition(pixelCount >= 0, "Grayscale.fromRGB: pixelCount must be non-negative, got \(pixelCount)")
        for i in 0..<pixelCount {
            // safe because: i < pixelCount; rgb holds 3 * pixelCount bytes, gray pixelCount.
            let r = UInt32(rgb[3 * i]), g = UInt32(rgb[3 * i + 1]), b = UInt32(rgb[3 * i + 2])
            gray[i] = UInt8(truncatingIfNeeded: (9798 &* r &+ 19235 &* g &+ 3735 &* b &+ 16384) >> 15)
        }
    }
}
