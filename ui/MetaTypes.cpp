#include "MetaTypes.h"

namespace rlq::ui {

void registerMetaTypes()
{
    qRegisterMetaType<rlq::RunSettings>("rlq::RunSettings");
    qRegisterMetaType<rlq::RunInfo>("rlq::RunInfo");
    qRegisterMetaType<rlq::EpisodeResult>("rlq::EpisodeResult");
    qRegisterMetaType<rlq::PolicyReport>("rlq::PolicyReport");
    qRegisterMetaType<rlq::RunSummary>("rlq::RunSummary");
    qRegisterMetaType<rlq::LayerInspection>("rlq::LayerInspection");
}

} // namespace rlq::ui
