// The RankGroup the cross-rank nccl backends build their NCCL communicator through
// (bench/rank_group.h): rank 0 draws the 128-byte id alone and every rank ends with its bytes.
// Checked on an in-process fake group of threads, and with the real MPI implementation
// (mpi::make_rank_group) under `mpirun -np 2`: this program re-runs itself as the MPI job's
// ranks (MLBENCH_RANK_GROUP_CHILD), each printing what it received; skipped without MPI.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/rank_group.h"
#include "mpi/mpi_launch.h"
#include "tests/test_support.h"

namespace {

constexpr std::size_t kIdBytes = 128;  // sizeof(ncclUniqueId)

// The id rank 0 draws: 128 bytes from the seed (what ncclGetUniqueId would return).
void draw_id(std::uint64_t seed, void* out) {
  std::mt19937_64 random(seed);
  auto* bytes = static_cast<unsigned char*>(out);
  for (std::size_t i = 0; i < kIdBytes; ++i) bytes[i] = static_cast<unsigned char>(random() & 0xFF);
}

std::string hex(const std::vector<unsigned char>& bytes) {
  std::string text;
  char two[3];
  for (unsigned char b : bytes) {
    std::snprintf(two, sizeof two, "%02x", b);
    text += two;
  }
  return text;
}

// N ranks as N threads of this process sharing one board.
class ThreadBoard {
 public:
  explicit ThreadBoard(int ranks) : ranks_(ranks) {}
  // Every rank deposits its value; returns once all have, with every rank's values.
  std::vector<std::vector<unsigned char>> exchange(int rank, std::vector<unsigned char> mine) {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    deposits_[rank] = std::move(mine);
    if (++arrived_ == ranks_) {
      result_ = deposits_;
      deposits_.clear();
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return generation_ != generation; });
    }
    std::vector<std::vector<unsigned char>> all(static_cast<std::size_t>(ranks_));
    for (const auto& [r, bytes] : result_) all[static_cast<std::size_t>(r)] = bytes;
    return all;
  }
  int ranks() const { return ranks_; }

 private:
  int ranks_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int, std::vector<unsigned char>> deposits_, result_;
  int arrived_ = 0;
  long generation_ = 0;
};

class ThreadGroup final : public mlbench::RankGroup {
 public:
  ThreadGroup(ThreadBoard& board, int rank) : board_(board), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return board_.ranks(); }
  void broadcast(void* data, std::size_t bytes, int root) override {
    auto* p = static_cast<unsigned char*>(data);
    const auto all = board_.exchange(rank_, std::vector<unsigned char>(p, p + bytes));
    std::memcpy(data, all[static_cast<std::size_t>(root)].data(), bytes);
  }
  void barrier() override { board_.exchange(rank_, {}); }
  double max(double value) override {
    std::vector<unsigned char> mine(sizeof value);
    std::memcpy(mine.data(), &value, sizeof value);
    double best = value;
    for (const auto& bytes : board_.exchange(rank_, mine)) {
      double v = 0;
      std::memcpy(&v, bytes.data(), sizeof v);
      best = std::max(best, v);
    }
    return best;
  }

 private:
  ThreadBoard& board_;
  int rank_;
};

TEST(RankGroup, Rank0DrawsTheIdAloneAndEveryRankOfAnInProcessGroupGetsItsBytes) {
  const std::uint64_t seed = mlbench::test_support::fresh_seed();
  for (int ranks : {1, 2, 3, 5}) {
    ThreadBoard board(ranks);
    std::vector<std::vector<unsigned char>> received(static_cast<std::size_t>(ranks));
    std::vector<int> draws(static_cast<std::size_t>(ranks), 0);
    std::vector<double> maxima(static_cast<std::size_t>(ranks), 0);
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
      threads.emplace_back([&, r] {
        ThreadGroup group(board, r);
        received[static_cast<std::size_t>(r)] = mlbench::share_from_rank0(group, kIdBytes, [&](void* out) {
          ++draws[static_cast<std::size_t>(r)];
          draw_id(seed, out);
        });
        group.barrier();
        maxima[static_cast<std::size_t>(r)] = group.max(1.5 * (r + 1));
      });
    for (auto& t : threads) t.join();
    std::vector<unsigned char> expected(kIdBytes);
    draw_id(seed, expected.data());
    for (int r = 0; r < ranks; ++r) {
      EXPECT_EQ(hex(received[static_cast<std::size_t>(r)]), hex(expected)) << "rank " << r << " of " << ranks;
      EXPECT_EQ(draws[static_cast<std::size_t>(r)], r == 0 ? 1 : 0) << "rank " << r << " of " << ranks;
      EXPECT_EQ(maxima[static_cast<std::size_t>(r)], 1.5 * ranks);
    }
  }
}

TEST(RankGroup, AGroupOfOneProcessKeepsWhatRank0Drew) {
  const std::uint64_t seed = mlbench::test_support::fresh_seed();
  mlbench::SingleProcessGroup group;
  const auto shared = mlbench::share_from_rank0(group, kIdBytes, [&](void* out) { draw_id(seed, out); });
  std::vector<unsigned char> expected(kIdBytes);
  draw_id(seed, expected.data());
  EXPECT_EQ(hex(shared), hex(expected));
  EXPECT_EQ(group.max(2.5), 2.5);
}

// Under mpirun: every rank joins the group of the whole job, shares the id and the slowest
// time, prints them, and ends the job as mlbench does (rank 0 finish(), the others follow()).
int run_as_mpi_rank(int argc, char** argv) {
  if (const std::optional<int> refused = mlbench::mpi::start(argc, argv)) return *refused;
  const int size = mlbench::mpi::size(), rank = mlbench::mpi::rank();
  std::unique_ptr<mlbench::RankGroup> group = mlbench::mpi::make_rank_group(size, 30);
  if (!group) {
    std::printf("rank %d: no group\n", rank);
    return 1;
  }
  const std::uint64_t seed = std::strtoull(std::getenv("MLBENCH_RANK_GROUP_CHILD"), nullptr, 10);
  int draws = 0;
  const auto shared = mlbench::share_from_rank0(*group, kIdBytes, [&](void* out) {
    ++draws;
    draw_id(seed, out);
  });
  group->barrier();
  const double slowest = group->max(1.5 * (rank + 1));
  std::printf("rank %d of %d: group %d of %d, draws %d, max %g, id %s\n", rank, size, group->rank(), group->size(),
              draws, slowest, hex(shared).c_str());
  std::fflush(stdout);
  group.reset();
  if (mlbench::mpi::is_follower()) return mlbench::mpi::follow();
  return mlbench::mpi::finish(0);
}

TEST(RankGroup, TheIdDrawnOnRank0ReachesEveryRankThroughMpiBcastUnderMpirun) {
  if (!MLBENCH_TEST_BUILT_WITH_MPI) GTEST_SKIP() << "built without MPI (libopenmpi-dev not found at configure time)";
  if (std::string(MLBENCH_MPIEXEC).empty() || access(MLBENCH_MPIEXEC, X_OK) != 0)
    GTEST_SKIP() << "mpirun not found (openmpi-bin)";
  const std::uint64_t seed = mlbench::test_support::fresh_seed();
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string out =
      (std::filesystem::temp_directory_path() / ("mlbench_rank_group_" + std::to_string(getpid()))).string();
  const std::string line = "MLBENCH_RANK_GROUP_CHILD=" + std::to_string(seed) + " timeout -k 5 120 " + MLBENCH_MPIEXEC +
                           " --allow-run-as-root --oversubscribe -np 2 " + self + " >" + out + " 2>&1";
  const int status = std::system(line.c_str());
  const std::string text = mlbench::test_support::slurp(out);
  std::filesystem::remove(out);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << line << "\n" << text;
  std::vector<unsigned char> expected(kIdBytes);
  draw_id(seed, expected.data());
  for (int r = 0; r < 2; ++r) {
    const std::string want = "rank " + std::to_string(r) + " of 2: group " + std::to_string(r) + " of 2, draws " +
                             (r == 0 ? "1" : "0") + ", max 3, id " + hex(expected) + "\n";
    EXPECT_NE(text.find(want), std::string::npos) << "missing: " << want << "in:\n" << text;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("MLBENCH_RANK_GROUP_CHILD") != nullptr) return run_as_mpi_rank(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
