#pragma once

// Qt meta-type declarations of the engine's value types, so that the search
// worker can send them through queued signal connections.

#include "search/SearchTypes.h"

#include <QMetaType>

Q_DECLARE_METATYPE(rlq::RunSettings)
Q_DECLARE_METATYPE(rlq::RunInfo)
Q_DECLARE_METATYPE(rlq::EpisodeResult)
Q_DECLARE_METATYPE(rlq::PolicyReport)
Q_DECLARE_METATYPE(rlq::RunSummary)
Q_DECLARE_METATYPE(rlq::LayerInspection)

namespace rlq::ui {

// Registers the types above with the meta-type system. Call once before the
// first queued connection; repeated calls are harmless.
void registerMetaTypes();

} // namespace rlq::ui
