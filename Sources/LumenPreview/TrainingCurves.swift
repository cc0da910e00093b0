import Foundation
import LumenIO

/// A fine-tuning job's loss and validation Dice per epoch, as a plot: what an admin looks at
/// before promoting (or forcing) a candidate. Loss is scaled to its own range on the left axis,
/// Dice to 0–1 on the right; the two series differ in colour and in marker (Dice epochs are
/// ringed dots, loss a plain line).
public enum TrainingCurves {
    public struct Epoch: Sendable, Equatable {
        public var epoch: Int
        public var loss: Double
        public var dice: Double?
        public init(epoch: Int, loss: Double, dice: Double?) { self.epoch = epoch; self.loss = loss; self.dice = dice }
    }

    static let lossColor = RGB(hex: 0x56B4E9), diceColor = RGB(hex: 0xE69F00)

    /// `history` from a candidate's docs/metrics.json (finetune.py). The file comes from a job, so every
    /// number is checked where it enters: an epoch outside 0...10^7, a loss that is not finite or beyond
    /// ±10^12, drops the entry; a Dice outside 0...1 is left out. The plot's integer arithmetic then
    /// cannot overflow, and no NaN reaches a pixel coordinate.
    public static func history(metricsJSON data: Data) -> [Epoch] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let history = object["history"] as? [[String: Any]] else { return [] }
        return history.compactMap { entry in
            guard let epochValue = (entry["epoch"] as? NSNumber)?.doubleValue, epochValue.isFinite,
                  (0...1e7).contains(epochValue), epochValue == epochValue.rounded(),
                  let loss = (entry["train_loss"] as? NSNumber)?.doubleValue, loss.isFinite, abs(loss) <= 1e12 else { return nil }
            let dice = (entry["val_mean_dice"] as? NSNumber)?.doubleValue
            return Epoch(epoch: Int(epochValue), loss: loss, dice: dice.flatMap { (0...1).contains($0) ? $0 : nil })
        }
    }

    public static func render(_ history: [Epoch], title: String) -> Canvas {
        let (width, height) = (560, 300)
        let (left, right, top, bottom) = (56, 48, 34, 40)
        var c = Canvas(width: width, height: height, background: RGB(24, 24, 24))
        let text = RGB(220, 220, 220), axis = RGB(150, 150, 150), grid = RGB(55, 55, 55)
        c.text(title, x: left, y: 10, text)
        let plotW = width - left - right, plotH = height - top - bottom
        let last = max(history.map(\.epoch).max() ?? 1, 1), first = min(history.map(\.epoch).min() ?? 1, last)
        let losses = history.map(\.loss)
        var (lo, hi) = (losses.min() ?? 0, losses.max() ?? 1)
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
        func x(_ epoch: Int) -> Int { left + (last == first ? plotW / 2 : (epoch - first) * plotW / (last - first)) }
        func yLoss(_ v: Double) -> Int { top + plotH - Int(((v - lo) / (hi - lo) * Double(plotH)).rounded()) }
        func yDice(_ v: Double) -> Int { top + plotH - Int((min(max(v, 0), 1) * Double(plotH)).rounded()) }
        for i in 0...4 {   // grid and both axes' ticks
            let y = top + plotH * i / 4
            c.line(left, y, left + plotW, y, grid)
            let lossTick = hi - (hi - lo) * Double(i) / 4
            c.text(String(format: "%.3g", lossTick), x: 4, y: y - 3, lossColor)
            c.text(String(format: "%.2f", 1 - Double(i) / 4), x: left + plotW + 6, y: y - 3, diceColor)
        }
        c.line(left, top, left, top + plotH, axis)
        c.line(left + plotW, top, left + plotW, top + plotH, axis)
        c.line(left, top + plotH, left + plotW, top + plotH, axis)
        c.text("EPOCH \(first)", x: left, y: top + plotH + 8, text)
        let lastLabel = "EPOCH \(last)"
        c.text(lastLabel, x: left + plotW - Canvas.textWidth(lastLabel), y: top + plotH + 8, text)
        for (a, b) in zip(history, history.dropFirst()) {
            c.line(x(a.epoch), yLoss(a.loss), x(b.epoch), yLoss(b.loss), lossColor)
        }
        let withDice = history.filter { $0.dice != nil }
        for (a, b) in zip(withDice, withDice.dropFirst()) {
            c.line(x(a.epoch), yDice(a.dice!), x(b.epoch), yDice(b.dice!), diceColor)
        }
        for e in withDice { c.marker(x: x(e.epoch), y: yDice(e.dice!), foreground: true, diceColor) }
        if history.count == 1, let e = history.first { c.fill(x: x(e.epoch) - 2, y: yLoss(e.loss) - 2, width: 5, height: 5, lossColor) }
        let legendY = height - 16
        c.fill(x: left, y: legendY, width: 12, height: 3, lossColor)
        c.text("TRAINING LOSS (LEFT)", x: left + 16, y: legendY - 2, text)
        c.marker(x: left + 190, y: legendY + 1, foreground: true, diceColor)
        c.text("VALIDATION MEAN DICE (RIGHT)", x: left + 200, y: legendY - 2, text)
        if history.isEmpty { c.text("NO EPOCH FINISHED YET", x: left + 20, y: top + plotH / 2, text) }
        return c
    }

    public static func png(_ history: [Epoch], title: String) -> [UInt8] {
        let c = render(history, title: title)
        return PNGImage.rgb(width: c.width, height: c.height, pixels: c.pixels)
    }
}
