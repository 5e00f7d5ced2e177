#pragma once

#include "search/SearchTypes.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace rlq {

// File names inside a run folder.
namespace runfile {
constexpr const char* kConfig = "config.json";
constexpr const char* kSensitivity = "sensitivity.json";
constexpr const char* kEvents = "events.jsonl";
constexpr const char* kBestPolicy = "best_policy.json";
constexpr const char* kReportJson = "report.json";
constexpr const char* kReportMarkdown = "report.md";
constexpr const char* kCheckpointFolder = "checkpoint";
constexpr const char* kAgent = "agent.pt";
constexpr const char* kState = "state.json";
constexpr const char* kPolicyNetwork = "policy_network.pt";
} // namespace runfile

// Schema version of best_policy.json; bump when a field changes meaning.
constexpr int kPolicySchemaVersion = 1;

nlohmann::json settingsToJson(const RunSettings& settings);
RunSettings settingsFromJson(const nlohmann::json& json, const std::string& sourceName);

nlohmann::json episodeToJson(const EpisodeResult& episode);
EpisodeResult episodeFromJson(const nlohmann::json& json);

nlohmann::json reportToJson(const PolicyReport& report);
PolicyReport reportFromJson(const nlohmann::json& json);

// Reads events.jsonl; stops at the first line that is not complete JSON
// (a run killed mid-write). Throws rlq::Error when the file is missing.
std::vector<EpisodeResult> readEvents(const std::filesystem::path& eventsFile);

// Report of a run as a Markdown page.
std::string reportMarkdown(const RunSettings& settings, const RunInfo& info, const RunSummary& summary);

} // namespace rlq
