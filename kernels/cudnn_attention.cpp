// cuDNN fused attention through the backend API (see cudnn_attention.h). The graph is the one
// cuDNN's flash-attention fprop engine matches (cuDNN developer guide, "Fused Flash Attention
// fprop"): S = matmul(Q, K^T) in fp32 -> S * scale (a by-value scalar) -> causal: GEN_INDEX of
// rows and columns, CMP_GE, BINARY_SELECT of S or a large negative value -> softmax as
// reduction MAX, SUB, EXP, reduction ADD, DIV -> O = matmul(P, V). Which details the engine
// insists on (the row statistics as an output, the probabilities' type and reordering) has
// varied between cuDNN releases, so several graph forms are tried in turn, inference forms
// (no statistics output) first, and the first that finalizes is kept; the report names it.
#include "kernels/cudnn_attention.h"

#include <fmt/format.h>

#include <cmath>
#include <functional>

#include "kernels/cuda_check.h"

namespace mlbench::kernels {

namespace {

// One backend descriptor, destroyed with its owner.
class Descriptor {
 public:
  explicit Descriptor(cudnnBackendDescriptorType_t type) {
    MLBENCH_CUDA_CHECK(cudnnBackendCreateDescriptor(type, &d_));
  }
  ~Descriptor() {
    if (d_ != nullptr) cudnnBackendDestroyDescriptor(d_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }
  void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, std::int64_t count, const void* value) {
    MLBENCH_CUDA_CHECK(cudnnBackendSetAttribute(d_, name, type, count, value));
  }
  void set_descriptor(cudnnBackendAttributeName_t name, const Descriptor& other) {
    cudnnBackendDescriptor_t o = other.get();
    set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &o);
  }
  void finalize() { MLBENCH_CUDA_CHECK(cudnnBackendFinalize(d_)); }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};
using Owned = std::shared_ptr<Descriptor>;

std::string last_cudnn_error() {
  char message[512] = {0};
  cudnnGetLastErrorString(message, sizeof message);
  return message;
}

// The handle attributes are deprecated in recent cuDNN 9 releases (the handle comes with
// execution) but required by earlier ones: set by number, status ignored.
void set_handle(Descriptor& d, int attribute, cudnnHandle_t handle) {
  cudnnBackendSetAttribute(d.get(), static_cast<cudnnBackendAttributeName_t>(attribute), CUDNN_TYPE_HANDLE, 1, &handle);
}
constexpr int kOperationGraphHandle = 800;  // CUDNN_ATTR_OPERATIONGRAPH_HANDLE
constexpr int kExecutionPlanHandle = 400;   // CUDNN_ATTR_EXECUTION_PLAN_HANDLE

// The graph forms tried, in order.
struct GraphForm {
  bool stats;         // the row log-sum-exp is a (non-virtual) output
  bool p_in_io_type;  // the probabilities are bf16/fp16 (else fp32)
  bool p_reordered;   // the probabilities carry the F16x16 reordering
  std::string name() const {
    return fmt::format("{}, P {}{}", stats ? "training form (row statistics output)" : "inference form",
                       p_in_io_type ? "in the input type" : "fp32", p_reordered ? " reordered F16x16" : "");
  }
};
constexpr GraphForm kForms[] = {{false, false, false}, {false, true, false}, {false, false, true}, {false, true, true},
                                {true, false, false},  {true, true, false},  {true, false, true},  {true, true, true}};

enum Uid : std::int64_t { kQ = 1, kK, kV, kO, kScale, kMaskValue, kStats, kVirtual = 100 };

}  // namespace

struct CudnnAttention::Plan {
  std::vector<Owned> keep;  // every descriptor the graph refers to
  Owned graph, plan;
  std::vector<std::int64_t> uids;
  Owned pack;  // the variant pack of the last run's pointers
  std::vector<const void*> pack_pointers;
};

namespace {

class GraphBuilder {
 public:
  explicit GraphBuilder(std::vector<Owned>& keep) : keep_(keep) {}

  Owned make(cudnnBackendDescriptorType_t type) {
    keep_.push_back(std::make_shared<Descriptor>(type));
    return keep_.back();
  }
  Owned tensor(std::int64_t uid, cudnnDataType_t type, std::vector<std::int64_t> dims,
               std::vector<std::int64_t> strides, bool is_virtual, bool by_value = false, bool reordered = false) {
    Owned t = make(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const std::int64_t alignment = 16;
    t->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
    t->set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, static_cast<std::int64_t>(dims.size()), dims.data());
    t->set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, static_cast<std::int64_t>(strides.size()), strides.data());
    t->set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    t->set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
    t->set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual);
    if (by_value) t->set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &by_value);
    if (reordered) {
      const cudnnBackendTensorReordering_t mode = CUDNN_TENSOR_REORDERING_F16x16;
      t->set(CUDNN_ATTR_TENSOR_REORDERING_MODE, CUDNN_TYPE_TENSOR_REORDERING_MODE, 1, &mode);
    }
    t->finalize();
    return t;
  }
  Owned virtual_tensor(cudnnDataType_t type, std::vector<std::int64_t> dims, std::vector<std::int64_t> strides,
                       bool reordered = false) {
    return tensor(kVirtual + next_virtual_++, type, std::move(dims), std::move(strides), true, false, reordered);
  }
  void matmul(const Owned& a, const Owned& b, const Owned& c) {
    Owned desc = make(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    desc->set(CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
    desc->finalize();
    Owned op = make(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    op->set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_ADESC, *a);
    op->set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_BDESC, *b);
    op->set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_CDESC, *c);
    op->set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_DESC, *desc);
    op->finalize();
    ops_.push_back(op);
  }
  // y = mode(x [, b [, t]]); `axis` for GEN_INDEX.
  void pointwise(cudnnPointwiseMode_t mode, cudnnDataType_t compute, const Owned& x, const Owned& b, const Owned& t,
                 const Owned& y, std::int64_t axis = -1) {
    Owned desc = make(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    desc->set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
    desc->set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &compute);
    if (axis >= 0) desc->set(CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, 1, &axis);
    desc->finalize();
    Owned op = make(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    op->set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, *desc);
    op->set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, *x);
    if (b) op->set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b);
    if (t) op->set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_TDESC, *t);
    op->set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, *y);
    op->finalize();
    ops_.push_back(op);
  }
  void reduction(cudnnReduceTensorOp_t reduce, const Owned& x, const Owned& y) {
    Owned desc = make(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    desc->set(CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &reduce);
    desc->set(CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
    desc->finalize();
    Owned op = make(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    op->set_descriptor(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, *x);
    op->set_descriptor(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, *y);
    op->set_descriptor(CUDNN_ATTR_OPERATION_REDUCTION_DESC, *desc);
    op->finalize();
    ops_.push_back(op);
  }
  Owned graph(cudnnHandle_t handle) {
    Owned g = make(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    std::vector<cudnnBackendDescriptor_t> raw;
    for (const Owned& op : ops_) raw.push_back(op->get());
    g->set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<std::int64_t>(raw.size()),
           raw.data());
    set_handle(*g, kOperationGraphHandle, handle);
    g->finalize();
    return g;
  }

 private:
  std::vector<Owned>& keep_;
  std::vector<Owned> ops_;
  std::int64_t next_virtual_ = 0;
};

// Builds the graph of `form`; returns it with the uids the variant pack must name.
Owned build_graph(GraphBuilder& g, cudnnHandle_t handle, const AttentionDims& d, std::int64_t batch, cudnnDataType_t io,
                  const GraphForm& form, std::vector<std::int64_t>& uids) {
  const std::int64_t b = batch, h = d.batch_heads / batch, s = d.seq, dim = d.head_dim;
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  const std::vector<std::int64_t> qkv_dims{b, h, s, dim}, qkv_strides{h * s * dim, s * dim, dim, 1};
  const std::vector<std::int64_t> kt_dims{b, h, dim, s}, kt_strides{h * s * dim, s * dim, 1, dim};
  const std::vector<std::int64_t> s_dims{b, h, s, s}, s_strides{h * s * s, s * s, s, 1};
  const std::vector<std::int64_t> r_dims{b, h, s, 1}, r_strides{h * s, s, 1, 1};
  const std::vector<std::int64_t> one{1, 1, 1, 1};

  Owned q = g.tensor(kQ, io, qkv_dims, qkv_strides, false);
  Owned kt = g.tensor(kK, io, kt_dims, kt_strides, false);
  Owned v = g.tensor(kV, io, qkv_dims, qkv_strides, false);
  Owned o = g.tensor(kO, io, qkv_dims, qkv_strides, false);
  Owned scale = g.tensor(kScale, f32, one, one, false, true);
  uids = {kQ, kK, kV, kO, kScale};

  Owned scores = g.virtual_tensor(f32, s_dims, s_strides);
  g.matmul(q, kt, scores);
  Owned scaled = g.virtual_tensor(f32, s_dims, s_strides);
  g.pointwise(CUDNN_POINTWISE_MUL, f32, scores, scale, nullptr, scaled);
  Owned masked = scaled;
  if (d.causal) {
    Owned row = g.virtual_tensor(f32, s_dims, s_strides);
    Owned col = g.virtual_tensor(f32, s_dims, s_strides);
    Owned keep = g.virtual_tensor(CUDNN_DATA_BOOLEAN, s_dims, s_strides);
    Owned mask_value = g.tensor(kMaskValue, f32, one, one, false, true);
    masked = g.virtual_tensor(f32, s_dims, s_strides);
    g.pointwise(CUDNN_POINTWISE_GEN_INDEX, f32, scaled, nullptr, nullptr, row, 2);
    g.pointwise(CUDNN_POINTWISE_GEN_INDEX, f32, scaled, nullptr, nullptr, col, 3);
    g.pointwise(CUDNN_POINTWISE_CMP_GE, CUDNN_DATA_BOOLEAN, row, col, nullptr, keep);
    g.pointwise(CUDNN_POINTWISE_BINARY_SELECT, f32, scaled, mask_value, keep, masked);
    uids.push_back(kMaskValue);
  }
  Owned row_max = g.virtual_tensor(f32, r_dims, r_strides);
  g.reduction(CUDNN_REDUCE_TENSOR_MAX, masked, row_max);
  Owned shifted = g.virtual_tensor(f32, s_dims, s_strides);
  g.pointwise(CUDNN_POINTWISE_SUB, f32, masked, row_max, nullptr, shifted);
  Owned exps = g.virtual_tensor(f32, s_dims, s_strides);
  g.pointwise(CUDNN_POINTWISE_EXP, f32, shifted, nullptr, nullptr, exps);
  Owned row_sum = g.virtual_tensor(f32, r_dims, r_strides);
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, exps, row_sum);
  if (form.stats) {
    Owned log_sum = g.virtual_tensor(f32, r_dims, r_strides);
    g.pointwise(CUDNN_POINTWISE_LOG, f32, row_sum, nullptr, nullptr, log_sum);
    Owned stats = g.tensor(kStats, f32, r_dims, r_strides, false);
    g.pointwise(CUDNN_POINTWISE_ADD, f32, row_max, log_sum, nullptr, stats);
    uids.push_back(kStats);
  }
  Owned p = g.virtual_tensor(form.p_in_io_type ? io : f32, s_dims, s_strides, form.p_reordered);
  g.pointwise(CUDNN_POINTWISE_DIV, f32, exps, row_sum, nullptr, p);
  g.matmul(p, v, o);
  return g.graph(handle);
}

// The first engine configuration of `mode`'s heuristics whose plan finalizes, or null.
Owned finalize_plan(std::vector<Owned>& keep, cudnnHandle_t handle, const Owned& graph, cudnnBackendHeurMode_t mode,
                    std::string& engine, std::string& why) {
  auto heur = std::make_shared<Descriptor>(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  keep.push_back(heur);
  heur->set_descriptor(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, *graph);
  heur->set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  heur->finalize();
  constexpr int kMaxConfigs = 16;
  std::vector<Owned> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int i = 0; i < kMaxConfigs; ++i) {
    configs.push_back(std::make_shared<Descriptor>(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
    raw.push_back(configs.back()->get());
  }
  std::int64_t returned = 0;
  MLBENCH_CUDA_CHECK(cudnnBackendGetAttribute(heur->get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                              kMaxConfigs, &returned, raw.data()));
  if (returned == 0) why = "the heuristics returned no engine";
  for (std::int64_t i = 0; i < returned; ++i) {
    auto plan = std::make_shared<Descriptor>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    set_handle(*plan, kExecutionPlanHandle, handle);
    cudnnBackendDescriptor_t cfg = raw[static_cast<std::size_t>(i)];
    plan->set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfg);
    if (cudnnBackendFinalize(plan->get()) != CUDNN_STATUS_SUCCESS) {
      why = "no engine configuration finalized: " + last_cudnn_error();
      continue;
    }
    // The engine's global index, for the report.
    auto engine_desc = std::make_shared<Descriptor>(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
    cudnnBackendDescriptor_t e = engine_desc->get();
    std::int64_t count = 0, index = -1;
    if (cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &count, &e) ==
            CUDNN_STATUS_SUCCESS &&
        cudnnBackendGetAttribute(e, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &count, &index) ==
            CUDNN_STATUS_SUCCESS) {
      engine = fmt::format("engine {}", index);
    } else {
      engine = "engine (index unknown)";
    }
    keep.insert(keep.end(), configs.begin(), configs.end());
    keep.push_back(engine_desc);
    return plan;
  }
  return nullptr;
}

}  // namespace

CudnnAttention::CudnnAttention(cudnnHandle_t handle, const AttentionDims& dims, std::int64_t batch,
                               cudnnDataType_t io_type, const std::function<void*(std::size_t)>& allocate_stats)
    : handle_(handle), scale_(static_cast<float>(dims.scale)) {
  std::string failures;
  for (const GraphForm& form : kForms) {
    auto plan = std::make_unique<Plan>();
    std::string why;
    try {
      GraphBuilder builder(plan->keep);
      plan->graph = build_graph(builder, handle, dims, batch, io_type, form, plan->uids);
      std::string engine;
      for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
        plan->plan = finalize_plan(plan->keep, handle, plan->graph, mode, engine, why);
        if (plan->plan) break;
      }
      if (plan->plan) {
        std::int64_t workspace = 0, count = 0;
        MLBENCH_CUDA_CHECK(cudnnBackendGetAttribute(plan->plan->get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                                    CUDNN_TYPE_INT64, 1, &count, &workspace));
        workspace_bytes_ = static_cast<std::size_t>(workspace);
        if (form.stats) stats_ = allocate_stats(static_cast<std::size_t>(dims.batch_heads * dims.seq) * sizeof(float));
        description_ = "cuDNN backend graph (flash attention fprop), " + form.name() + ", " + engine;
        plan_ = std::move(plan);
        return;
      }
    } catch (const GpuError& e) {
      why = std::string(e.what()) + " " + last_cudnn_error();
    }
    failures += "[" + form.name() + ": " + why + "] ";
  }
  throw GpuError("cuDNN accepted no form of the attention graph: " + failures, false);
}

CudnnAttention::~CudnnAttention() = default;

void CudnnAttention::run(const void* q, const void* k, const void* v, void* o, void* workspace) {
  // The variant pack is built once per set of pointers (a variant's never change), so that
  // the timed region holds only cudnnBackendExecute.
  const std::vector<const void*> key{q, k, v, o, workspace};
  if (!plan_->pack || plan_->pack_pointers != key) {
    std::vector<void*> pointers;
    for (std::int64_t uid : plan_->uids) {
      switch (uid) {
        case kQ: pointers.push_back(const_cast<void*>(q)); break;
        case kK: pointers.push_back(const_cast<void*>(k)); break;
        case kV: pointers.push_back(const_cast<void*>(v)); break;
        case kO: pointers.push_back(o); break;
        case kScale: pointers.push_back(&scale_); break;
        case kMaskValue: pointers.push_back(&mask_value_); break;
        default: pointers.push_back(stats_); break;
      }
    }
    auto pack = std::make_shared<Descriptor>(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    pack->set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, static_cast<std::int64_t>(plan_->uids.size()),
              plan_->uids.data());
    pack->set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, static_cast<std::int64_t>(pointers.size()),
              pointers.data());
    pack->set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
    pack->finalize();
    plan_->pack = pack;
    plan_->pack_pointers = key;
  }
  MLBENCH_CUDA_CHECK(cudnnBackendExecute(handle_, plan_->plan->get(), plan_->pack->get()));
}

}  // namespace mlbench::kernels
