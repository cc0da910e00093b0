/// What each phantom voxel is made of, finer than the label map: the label map says "kidney",
/// the tissue map says cortex or medulla; the label map says "background", the tissue map says
/// fat, muscle, lung, gas or bowel. Training can then redraw every tissue's intensity at random
/// (SynthSeg's recipe), not only the labelled structures', so a network cannot lean on the
/// grey value of the fat or muscle around an organ. Values are stable: trainers key on them.
public enum PhantomTissue: UInt8, CaseIterable, Sendable {
    case air = 0, fat, muscle, liver, spleen, renalCortex, renalMedulla, arterialBlood, portalBlood
    case hepaticArtery, pancreas, stomachWall, stomachContent, gas, corticalBone, cancellousBone
    case disc, lung, csf, venousBlood, bowelContent

    public var name: String {
        switch self {
        case .air: "air"
        case .fat: "fat"
        case .muscle: "muscle"
        case .liver: "liver"
        case .spleen: "spleen"
        case .renalCortex: "renal_cortex"
        case .renalMedulla: "renal_medulla"
        case .arterialBlood: "arterial_blood"
        case .portalBlood: "portal_blood"
        case .hepaticArtery: "hepatic_artery"
        case .pancreas: "pancreas"
        case .stomachWall: "stomach_wall"
        case .stomachContent: "stomach_content"
        case .gas: "gas"
        case .corticalBone: "cortical_bone"
        case .cancellousBone: "cancellous_bone"
        case .disc: "intervertebral_disc"
        case .lung: "lung"
        case .csf: "csf"
        case .venousBlood: "venous_blood"
        case .bowelContent: "bowel_content"
        }
    }
}
