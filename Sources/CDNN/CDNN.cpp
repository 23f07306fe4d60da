// CDNN: the Q-network's convolutions through oneDNN (see include/CDNN.h for the contract).
//
// Per handle (one layer, one thread) and per batch size n, an Entry holds:
//   forward          src (NHWC, bf16 or f32) * weights (oneDNN's layout, `any`) + bias, ReLU fused
//                    -> dst NHWC f32 (the caller's buffer)
//   weight gradient  src, d_dst (NHWC) -> d_weights (oneDNN's layout, f32) -> OIHW f32 -> caller
//   input gradient   d_dst, weights (its own `any` layout) -> d_src NHWC f32 (the caller's buffer)
// and the reorders between the caller's layouts and oneDNN's: OIHW f32 weights into each pass's
// layout (every call), f32 -> bf16 sources and output gradients (bf16 only), the gradient back
// to OIHW. conv1's frames are widened from uint8 NCHW into an NHWC buffer of the entry's by a
// oneDNN reorder, or for 4 bf16 channels by our AVX-512 kernel, 4-5x faster (exact either way:
// integers below 256 are bf16 numbers), and the 1/255
// scaling is folded into its weights (forward) and into its weight gradient.
// Every primitive runs with a user scratchpad of its entry's, so handles used by different
// threads at once never share memory.
#include "CDNN.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// libgomp's (oneDNN's OpenMP runtime); sets the calling thread's team size for later regions.
extern "C" void omp_set_num_threads(int);

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

#if defined(__x86_64__)
// k uint8 NCHW samples of 4 channels and `pixels` pixels each into bf16 NHWC: for 16 pixels at a
// time, each channel's bytes become floats, whose top halves are the bf16 numbers (exact for
// integers below 256); channels 0-1 and 2-3 are paired into 32-bit words, and the pairs
// interleaved into one 64-bit group of 4 channels per pixel. The same bits as oneDNN's reorder
// (tested), 4-5x faster.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void widenFourChannelsBF16(const uint8_t *frames, int k, int pixels,
                                                                         uint16_t *out) {
    const __m512i lowHalves = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);   // lo.L0 hi.L0 lo.L1 hi.L1
    const __m512i highHalves = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);  // lo.L2 hi.L2 lo.L3 hi.L3
    for (int n = 0; n < k; n++) {
        const uint8_t *plane = frames + (size_t)n * 4 * pixels;
        uint16_t *dst = out + (size_t)n * 4 * pixels;
        for (int p = 0; p < pixels; p += 16) {
            const int left = pixels - p < 16 ? pixels - p : 16;
            const __mmask16 m = (__mmask16)((1u << left) - 1);
            __m512i c[4];
            for (int ch = 0; ch < 4; ch++) {
                const __m128i bytes = _mm_maskz_loadu_epi8(m, plane + (size_t)ch * pixels + p);
                c[ch] = _mm512_srli_epi32(_mm512_castps_si512(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes))), 16);
            }
            const __m512i v01 = _mm512_or_si512(c[0], _mm512_slli_epi32(c[1], 16));
            const __m512i v23 = _mm512_or_si512(c[2], _mm512_slli_epi32(c[3], 16));
            // Within each 128-bit lane l: lo = pixels 4l, 4l+1; hi = pixels 4l+2, 4l+3.
            const __m512i lo = _mm512_unpacklo_epi32(v01, v23), hi = _mm512_unpackhi_epi32(v01, v23);
            const __m512i first = _mm512_permutex2var_epi64(lo, lowHalves, hi);    // pixels 0-7
            const __m512i second = _mm512_permutex2var_epi64(lo, highHalves, hi);  // pixels 8-15
            uint16_t *to = dst + (size_t)p * 4;
            if (left == 16) {
                _mm512_storeu_si512(to, first);
                _mm512_storeu_si512(to + 32, second);
            } else {
                const unsigned pixelsMask = (1u << left) - 1;
                _mm512_mask_storeu_epi64(to, (__mmask8)(pixelsMask & 0xFF), first);
                _mm512_mask_storeu_epi64(to + 32, (__mmask8)(pixelsMask >> 8), second);
            }
        }
    }
}

bool ourWideningRuns() {
    static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    return yes;
}
#else
void widenFourChannelsBF16(const uint8_t *, int, int, uint16_t *) {}
bool ourWideningRuns() { return false; }
#endif

engine &cpuEngine() {
    static engine e(engine::kind::cpu, 0);  // thread-safe static initialization
    return e;
}

// A primitive with its own scratchpad.
struct Step {
    primitive prim;
    memory scratchpad;

    Step() = default;
    template <class PD> Step(const PD &pd, const primitive &p) : prim(p) {
        if (pd.scratchpad_desc().get_size() > 0) scratchpad = memory(pd.scratchpad_desc(), cpuEngine());
    }
    // Through the C API with the arguments on the stack: the C++ API's execute takes a hash map,
    // which would allocate on every call of every training step.
    struct Arg {
        int key;
        const memory &value;
    };
    void run(stream &s, std::initializer_list<Arg> args) {
        dnnl_exec_arg_t list[8];
        int count = 0;
        for (const Arg &a : args) list[count++] = {a.key, a.value.get()};
        if (scratchpad) list[count++] = {DNNL_ARG_SCRATCHPAD, scratchpad.get()};
        const dnnl_status_t status = dnnl_primitive_execute(prim.get(), s.get(), count, list);
        if (status != dnnl_success) throw dnnl::error(status, "a primitive failed to run");
    }
};

primitive_attr userScratchpad() {
    primitive_attr attr;
    attr.set_scratchpad_mode(scratchpad_mode::user);
    return attr;
}

Step makeReorder(const memory &from, const memory &to) {
    auto pd = reorder::primitive_desc(cpuEngine(), from.get_desc(), cpuEngine(), to.get_desc(), userScratchpad());
    return Step(pd, reorder(pd));
}

}  // namespace

struct Entry {
    int n = 0;
    convolution_forward::primitive_desc forwardPd;
    convolution_backward_weights::primitive_desc weightsPd;
    convolution_backward_data::primitive_desc dataPd;
    bool hasData = false;
    Step forward, weightGradient, inputGradient;
    // The caller's buffers (handles set per call) and the entry's own.
    memory srcUser;      // NHWC f32 (not for frames)
    memory src;          // what the passes read: srcUser itself (f32), or own (bf16, frames)
    memory dst;          // NHWC f32, the caller's
    memory dDstUser;     // NHWC f32, the caller's
    memory dDst;         // dDstUser itself (f32) or own bf16
    memory dSrc;         // NHWC f32, the caller's
    memory weightsUser;  // OIHW f32, the caller's (or the handle's scaled copy for frames)
    memory weightsForward, weightsData;  // in each pass's layout
    memory bias;         // [O] f32, the caller's
    memory dWeights;     // the weight gradient's layout, own
    memory dWeightsUser; // OIHW f32, own
    memory dBias;        // [O] f32, own
    Step srcToLow, dDstToLow, weightsToForward, weightsToData, dWeightsToUser;
    bool convertSrc = false, convertDDst = false;
};

struct arena_dnn_conv {
    int C, H, W, O, K, S, OH, OW;
    bool bf16, frames, wantInputGradient;
    bool ourWidening = true;  // false: oneDNN's reorder widens the frames (arena_dnn_conv_use_reference_widening)
    stream s{cpuEngine()};
    std::vector<std::unique_ptr<Entry>> entries;
    std::vector<float> scaledWeights;  // frames: the weights times 1/255
    std::string error;

    Entry &entry(int n) {
        for (auto &e : entries) if (e->n == n) return *e;
        entries.push_back(build(n));
        return *entries.back();
    }

    std::unique_ptr<Entry> build(int n) {
        auto e = std::make_unique<Entry>();
        e->n = n;
        const dt low = bf16 ? dt::bf16 : dt::f32;
        const memory::dims srcDims{n, C, H, W}, weightDims{O, C, K, K}, biasDims{O}, dstDims{n, O, OH, OW};
        const memory::dims strides{S, S}, padding{0, 0};
        const auto srcLowMd = memory::desc(srcDims, low, tag::nhwc), srcF32Md = memory::desc(srcDims, dt::f32, tag::nhwc);
        const auto dstMd = memory::desc(dstDims, dt::f32, tag::nhwc), dDstLowMd = memory::desc(dstDims, low, tag::nhwc);
        const auto biasMd = memory::desc(biasDims, dt::f32, tag::a);
        const auto weightsUserMd = memory::desc(weightDims, dt::f32, tag::oihw);
        auto &eng = cpuEngine();

        primitive_attr forwardAttr = userScratchpad();
        post_ops ops;
        ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
        forwardAttr.set_post_ops(ops);
        e->forwardPd = convolution_forward::primitive_desc(
            convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, srcLowMd,
                                      memory::desc(weightDims, low, tag::any), biasMd, dstMd, strides, padding, padding),
            forwardAttr, eng);
        e->forward = Step(e->forwardPd, convolution_forward(e->forwardPd));
        e->weightsPd = convolution_backward_weights::primitive_desc(
            convolution_backward_weights::desc(algorithm::convolution_direct, srcLowMd,
                                               memory::desc(weightDims, dt::f32, tag::any), biasMd, dDstLowMd, strides,
                                               padding, padding),
            userScratchpad(), eng, e->forwardPd);
        e->weightGradient = Step(e->weightsPd, convolution_backward_weights(e->weightsPd));
        if (wantInputGradient) {
            e->dataPd = convolution_backward_data::primitive_desc(
                convolution_backward_data::desc(algorithm::convolution_direct, srcF32Md,
                                                memory::desc(weightDims, low, tag::any), dDstLowMd, strides, padding, padding),
                userScratchpad(), eng, e->forwardPd);
            e->inputGradient = Step(e->dataPd, convolution_backward_data(e->dataPd));
            e->hasData = true;
        }
        // The passes were asked for exactly these source and output-gradient layouts.
        if (e->forwardPd.src_desc() != srcLowMd || e->forwardPd.dst_desc() != dstMd
            || e->weightsPd.diff_dst_desc() != dDstLowMd || e->weightsPd.src_desc() != srcLowMd)
            throw std::runtime_error("oneDNN chose other activation layouts than NHWC");

        e->dst = memory(dstMd, eng, DNNL_MEMORY_NONE);
        e->bias = memory(biasMd, eng, DNNL_MEMORY_NONE);
        e->weightsUser = memory(weightsUserMd, eng, DNNL_MEMORY_NONE);
        e->weightsForward = memory(e->forwardPd.weights_desc(), eng);
        e->weightsToForward = makeReorder(e->weightsUser, e->weightsForward);
        if (frames) {
            e->src = memory(srcLowMd, eng);  // widened here
        } else {
            e->srcUser = memory(srcF32Md, eng, DNNL_MEMORY_NONE);
            if (bf16) {
                e->src = memory(srcLowMd, eng);
                e->srcToLow = makeReorder(e->srcUser, e->src);
                e->convertSrc = true;
            } else {
                e->src = e->srcUser;
            }
        }
        e->dDstUser = memory(dstMd, eng, DNNL_MEMORY_NONE);
        if (bf16) {
            e->dDst = memory(dDstLowMd, eng);
            e->dDstToLow = makeReorder(e->dDstUser, e->dDst);
            e->convertDDst = true;
        } else {
            e->dDst = e->dDstUser;
        }
        e->dWeights = memory(e->weightsPd.diff_weights_desc(), eng);
        e->dWeightsUser = memory(weightsUserMd, eng);
        e->dWeightsToUser = makeReorder(e->dWeights, e->dWeightsUser);
        e->dBias = memory(e->weightsPd.diff_bias_desc(), eng);
        if (e->hasData) {
            e->dSrc = memory(srcF32Md, eng, DNNL_MEMORY_NONE);
            e->weightsData = memory(e->dataPd.weights_desc(), eng);
            e->weightsToData = makeReorder(e->weightsUser, e->weightsData);
        }
        return e;
    }

    // Reorders of k uint8 NCHW frames into k samples of a source laid out NHWC (bf16 or f32),
    // by sample count.
    struct Widening {
        int k;
        memory from, to;
        Step step;
    };
    std::vector<std::unique_ptr<Widening>> widenings;

    Widening &widening(int k) {
        for (auto &w : widenings) if (w->k == k) return *w;
        auto w = std::make_unique<Widening>();
        w->k = k;
        w->from = memory(memory::desc({k, C, H, W}, dt::u8, tag::nchw), cpuEngine(), DNNL_MEMORY_NONE);
        w->to = memory(memory::desc({k, C, H, W}, bf16 ? dt::bf16 : dt::f32, tag::nhwc), cpuEngine(), DNNL_MEMORY_NONE);
        w->step = makeReorder(w->from, w->to);
        widenings.push_back(std::move(w));
        return *widenings.back();
    }

    // Frames [n, C, H, W] uint8 (then more_n more at `more`) into the entry's NHWC source
    // (oneDNN's reorder: integers below 256 are exact in bf16 too).
    void widen(Entry &e, const uint8_t *frames, int n, const uint8_t *more, int moreN) {
        const size_t sampleBytes = size_t(H) * W * C * (bf16 ? 2 : 4);
        char *to = static_cast<char *>(e.src.get_data_handle());
        if (bf16 && C == 4 && ourWidening && ourWideningRuns()) {
            widenFourChannelsBF16(frames, n, H * W, reinterpret_cast<uint16_t *>(to));
            if (moreN > 0) widenFourChannelsBF16(more, moreN, H * W, reinterpret_cast<uint16_t *>(to + n * sampleBytes));
            return;
        }
        Widening &first = widening(n);
        first.from.set_data_handle(const_cast<uint8_t *>(frames));
        first.to.set_data_handle(to);
        first.step.run(s, {{DNNL_ARG_FROM, first.from}, {DNNL_ARG_TO, first.to}});
        if (moreN > 0) {
            Widening &second = widening(moreN);
            second.from.set_data_handle(const_cast<uint8_t *>(more));
            second.to.set_data_handle(to + n * sampleBytes);
            second.step.run(s, {{DNNL_ARG_FROM, second.from}, {DNNL_ARG_TO, second.to}});
        }
    }

    // The weights the passes multiply by: the caller's, or for frames the caller's times 1/255.
    void setWeights(Entry &e, const float *weights) {
        if (frames) {
            const size_t count = size_t(O) * C * K * K;
            scaledWeights.resize(count);
            for (size_t i = 0; i < count; i++) scaledWeights[i] = weights[i] * (1.0f / 255.0f);
            e.weightsUser.set_data_handle(scaledWeights.data());
        } else {
            e.weightsUser.set_data_handle(const_cast<float *>(weights));
        }
    }

    void setSource(Entry &e, const void *input, int n, const uint8_t *more, int moreN) {
        if (frames) {
            widen(e, static_cast<const uint8_t *>(input), n, more, moreN);
        } else {
            e.srcUser.set_data_handle(const_cast<void *>(input));
            if (e.convertSrc) e.srcToLow.run(s, {{DNNL_ARG_FROM, e.srcUser}, {DNNL_ARG_TO, e.src}});
        }
    }

    void setOutputGradient(Entry &e, const float *dOutput) {
        e.dDstUser.set_data_handle(const_cast<float *>(dOutput));
        if (e.convertDDst) e.dDstToLow.run(s, {{DNNL_ARG_FROM, e.dDstUser}, {DNNL_ARG_TO, e.dDst}});
    }
};

namespace {

template <class F> int guarded(arena_dnn_conv *conv, const char *what, F body) {
    try {
        omp_set_num_threads(1);
        body();
        conv->error.clear();
        return 0;
    } catch (const dnnl::error &e) {
        conv->error = std::string("oneDNN could not run the ") + what + " (" + e.what() + ", status " +
                      std::to_string(int(e.status)) + ")";
    } catch (const std::bad_alloc &) {
        conv->error = std::string("out of memory in oneDNN's ") + what;
    } catch (const std::exception &e) {
        conv->error = std::string("oneDNN's ") + what + " failed: " + e.what();
    }
    return -1;
}

}  // namespace

extern "C" {

const char *arena_dnn_version(void) {
    static std::string text = [] {
        const dnnl_version_t *v = dnnl_version();
        return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    }();
    return text.c_str();
}

arena_dnn_conv *arena_dnn_conv_create(int in_channels, int height, int width, int out_channels, int kernel, int stride,
                                      int bf16, int frames, int input_gradient, char *err, size_t err_len) {
    auto fail = [&](const std::string &message) -> arena_dnn_conv * {
        if (err && err_len > 0) std::snprintf(err, err_len, "%s", message.c_str());
        return nullptr;
    };
    if (in_channels < 1 || out_channels < 1 || kernel < 1 || stride < 1 || height < kernel || width < kernel)
        return fail("invalid convolution shape");
    if (frames && input_gradient) return fail("conv1's input gradient (of the frames) is never computed");
    try {
        omp_set_num_threads(1);
        auto conv = std::make_unique<arena_dnn_conv>();
        conv->C = in_channels; conv->H = height; conv->W = width; conv->O = out_channels;
        conv->K = kernel; conv->S = stride;
        conv->OH = (height - kernel) / stride + 1;
        conv->OW = (width - kernel) / stride + 1;
        conv->bf16 = bf16 != 0; conv->frames = frames != 0; conv->wantInputGradient = input_gradient != 0;
        conv->entry(1);  // checks that this CPU and oneDNN can build the passes at all
        return conv.release();
    } catch (const dnnl::error &e) {
        return fail(std::string("oneDNN cannot build this convolution on this CPU (") + e.what() + ")");
    } catch (const std::exception &e) {
        return fail(std::string("oneDNN failed: ") + e.what());
    }
}

void arena_dnn_conv_destroy(arena_dnn_conv *conv) { delete conv; }

const char *arena_dnn_conv_error(const arena_dnn_conv *conv) { return conv->error.c_str(); }

void arena_dnn_conv_use_reference_widening(arena_dnn_conv *conv, int on) { conv->ourWidening = on == 0; }

int arena_dnn_conv_prepare(arena_dnn_conv *conv, int n) {
    return guarded(conv, "convolution set-up", [&] {
        conv->entry(n);
        if (conv->frames) conv->widening(n);
    });
}

const char *arena_dnn_conv_implementation(arena_dnn_conv *conv, int n, int pass) {
    for (auto &e : conv->entries) {
        if (e->n != n) continue;
        if (pass == 0) return e->forwardPd.impl_info_str();
        if (pass == 1) return e->weightsPd.impl_info_str();
        if (pass == 2 && e->hasData) return e->dataPd.impl_info_str();
    }
    return "";
}

int arena_dnn_conv_forward(arena_dnn_conv *conv, const void *input, int n, const uint8_t *more, int more_n,
                           const float *weights, const float *bias, float *output) {
    return guarded(conv, "convolution forward", [&] {
        Entry &e = conv->entry(n + more_n);
        conv->setWeights(e, weights);
        e.weightsToForward.run(conv->s, {{DNNL_ARG_FROM, e.weightsUser}, {DNNL_ARG_TO, e.weightsForward}});
        conv->setSource(e, input, n, more, more_n);
        e.bias.set_data_handle(const_cast<float *>(bias));
        e.dst.set_data_handle(output);
        e.forward.run(conv->s, {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_WEIGHTS, e.weightsForward}, {DNNL_ARG_BIAS, e.bias},
                                {DNNL_ARG_DST, e.dst}});
        conv->s.wait();
    });
}

int arena_dnn_conv_backward_weights(arena_dnn_conv *conv, const void *input, int n, const float *d_output,
                                    float *d_weights, float *d_bias, int accumulate) {
    return guarded(conv, "convolution weight gradient", [&] {
        Entry &e = conv->entry(n);
        conv->setSource(e, input, n, nullptr, 0);
        conv->setOutputGradient(e, d_output);
        e.weightGradient.run(conv->s, {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DIFF_DST, e.dDst},
                                       {DNNL_ARG_DIFF_WEIGHTS, e.dWeights}, {DNNL_ARG_DIFF_BIAS, e.dBias}});
        e.dWeightsToUser.run(conv->s, {{DNNL_ARG_FROM, e.dWeights}, {DNNL_ARG_TO, e.dWeightsUser}});
        conv->s.wait();
        const float *dw = static_cast<const float *>(e.dWeightsUser.get_data_handle());
        const float *db = static_cast<const float *>(e.dBias.get_data_handle());
        const size_t count = size_t(conv->O) * conv->C * conv->K * conv->K;
        const float scale = conv->frames ? 1.0f / 255.0f : 1.0f;
        if (accumulate) {
            for (size_t i = 0; i < count; i++) d_weights[i] += scale * dw[i];
            for (int o = 0; o < conv->O; o++) d_bias[o] += db[o];
        } else {
            for (size_t i = 0; i < count; i++) d_weights[i] = scale * dw[i];
            for (int o = 0; o < conv->O; o++) d_bias[o] = db[o];
        }
    });
}

int arena_dnn_conv_backward_data(arena_dnn_conv *conv, int n, const float *d_output, const float *weights,
                                 float *d_input) {
    return guarded(conv, "convolution input gradient", [&] {
        if (!conv->wantInputGradient) throw std::runtime_error("this handle was built without the input gradient");
        Entry &e = conv->entry(n);
        conv->setWeights(e, weights);
        e.weightsToData.run(conv->s, {{DNNL_ARG_FROM, e.weightsUser}, {DNNL_ARG_TO, e.weightsData}});
        conv->setOutputGradient(e, d_output);
        e.dSrc.set_data_handle(d_input);
        e.inputGradient.run(conv->s, {{DNNL_ARG_DIFF_DST, e.dDst}, {DNNL_ARG_WEIGHTS, e.weightsData},
                                      {DNNL_ARG_DIFF_SRC, e.dSrc}});
        conv->s.wait();
    });
}

}  // extern "C"
