// Times oneDNN (Debian's libdnnl) on the Nature DQN's passes, to decide whether the arena should
// use it: each conv layer's forward, weight gradient and input gradient, and fc1's forward, at one
// batch size, fp32 or bf16 (bf16 sources and weights, fp32 results and weight gradients), with
// oneDNN's own layouts (`any`: reorders are not timed, the best case) or with the arena's NHWC
// activations. Medians of 30 runs after 5 warm-ups. Threads: OMP_NUM_THREADS.
//
//   make bench-onednn        (or: g++ -O2 Benchmarks/onednn_conv.cpp -ldnnl; ./a.out 32 bf16 [nhwc])
#include <oneapi/dnnl/dnnl.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

template <class F> double medianMilliseconds(F run, stream &s) {
    for (int i = 0; i < 5; i++) run();
    s.wait();
    std::vector<double> times;
    for (int i = 0; i < 30; i++) {
        auto start = std::chrono::steady_clock::now();
        run();
        s.wait();
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// Zeros, so that no leftover bytes are denormals or NaNs that could change the timing.
memory zeroed(const memory::desc &md, const engine &cpu) {
    memory m(md, cpu);
    std::memset(m.get_data_handle(), 0, md.get_size());
    return m;
}

struct Layer { const char *name; int inChannels, outChannels, kernel, stride, inSize, outSize; };

}  // namespace

int main(int argc, char **argv) {
    const int batch = argc > 1 ? std::atoi(argv[1]) : 32;
    const bool bf16 = argc > 2 && std::string(argv[2]) == "bf16";
    const bool nhwc = argc > 3 && std::string(argv[3]) == "nhwc";
    engine cpu(engine::kind::cpu, 0);
    stream s(cpu);
    const dt low = bf16 ? dt::bf16 : dt::f32;
    const Layer layers[] = {{"conv1", 4, 32, 8, 4, 84, 20}, {"conv2", 32, 64, 4, 2, 20, 9}, {"conv3", 64, 64, 3, 1, 9, 7}};
    std::printf("{\"batch\": %d, \"precision\": \"%s\", \"layout\": \"%s\", \"passes\": [\n", batch, bf16 ? "bf16" : "fp32",
                nhwc ? "nhwc" : "any");
    for (const Layer &l : layers) {
        const memory::dims src{batch, l.inChannels, l.inSize, l.inSize}, weights{l.outChannels, l.inChannels, l.kernel, l.kernel};
        const memory::dims bias{l.outChannels}, dst{batch, l.outChannels, l.outSize, l.outSize};
        const memory::dims strides{l.stride, l.stride}, padding{0, 0};
        // With `nhwc` conv1 reads the frames as NHWC too (on NCHW frames oneDNN 2.6 has only its
        // reference code, seconds per call).
        const tag srcTag = nhwc ? tag::nhwc : tag::any;
        const tag dstTag = nhwc ? tag::nhwc : tag::any;
        const auto srcMd = memory::desc(src, low, srcTag), weightsMd = memory::desc(weights, low, tag::any);
        const auto biasMd = memory::desc(bias, dt::f32, tag::a);
        const auto forwardPd = convolution_forward::primitive_desc(
            convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, srcMd, weightsMd, biasMd,
                                      memory::desc(dst, dt::f32, dstTag), strides, padding, padding), cpu);
        memory x = zeroed(forwardPd.src_desc(), cpu), w = zeroed(forwardPd.weights_desc(), cpu), b = zeroed(forwardPd.bias_desc(), cpu), y = zeroed(forwardPd.dst_desc(), cpu);
        convolution_forward forward(forwardPd);
        const double flops = 2.0 * batch * l.outSize * l.outSize * l.outChannels * l.inChannels * l.kernel * l.kernel;
        const double forwardMs = medianMilliseconds([&] {
            forward.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
        }, s);
        const auto dyMd = memory::desc(dst, low, dstTag);
        const auto weightsPd = convolution_backward_weights::primitive_desc(
            convolution_backward_weights::desc(algorithm::convolution_direct, srcMd, memory::desc(weights, dt::f32, tag::any),
                                               biasMd, dyMd, strides, padding, padding), cpu, forwardPd);
        memory x2 = zeroed(weightsPd.src_desc(), cpu), dy = zeroed(weightsPd.diff_dst_desc(), cpu);
        memory dw = zeroed(weightsPd.diff_weights_desc(), cpu), db = zeroed(weightsPd.diff_bias_desc(), cpu);
        convolution_backward_weights weightGradient(weightsPd);
        const double weightMs = medianMilliseconds([&] {
            weightGradient.execute(s, {{DNNL_ARG_SRC, x2}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_DIFF_BIAS, db}});
        }, s);
        double inputMs = -1;  // conv1's input gradient is never needed
        std::string inputImpl = "-";
        if (l.inChannels != 4) {
            const auto dataPd = convolution_backward_data::primitive_desc(
                convolution_backward_data::desc(algorithm::convolution_direct, memory::desc(src, dt::f32, srcTag), weightsMd,
                                                dyMd, strides, padding, padding), cpu, forwardPd);
            memory dx = zeroed(dataPd.diff_src_desc(), cpu), w2 = zeroed(dataPd.weights_desc(), cpu), dy2 = zeroed(dataPd.diff_dst_desc(), cpu);
            convolution_backward_data inputGradient(dataPd);
            inputMs = medianMilliseconds([&] {
                inputGradient.execute(s, {{DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_WEIGHTS, w2}, {DNNL_ARG_DIFF_DST, dy2}});
            }, s);
            inputImpl = dataPd.impl_info_str();
        }
        std::printf("  {\"layer\": \"%s\", \"forward_ms\": %.3f, \"forward_gflops\": %.0f, \"forward_impl\": \"%s\", "
                    "\"weight_gradient_ms\": %.3f, \"weight_gradient_impl\": \"%s\", \"input_gradient_ms\": %.3f, \"input_gradient_impl\": \"%s\"},\n",
                    l.name, forwardMs, flops / forwardMs / 1e6, forwardPd.impl_info_str(), weightMs, weightsPd.impl_info_str(),
                    inputMs, inputImpl.c_str());
    }
    {
        const memory::dims src{batch, 3136}, weights{512, 3136}, bias{512}, dst{batch, 512};
        const auto pd = inner_product_forward::primitive_desc(
            inner_product_forward::desc(prop_kind::forward_training, memory::desc(src, low, tag::any), memory::desc(weights, low, tag::any),
                                        memory::desc(bias, dt::f32, tag::a), memory::desc(dst, dt::f32, tag::any)), cpu);
        memory x = zeroed(pd.src_desc(), cpu), w = zeroed(pd.weights_desc(), cpu), b = zeroed(pd.bias_desc(), cpu), y = zeroed(pd.dst_desc(), cpu);
        inner_product_forward forward(pd);
        const double ms = medianMilliseconds([&] {
            forward.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
        }, s);
        std::printf("  {\"layer\": \"fc1\", \"forward_ms\": %.3f, \"forward_gflops\": %.0f, \"forward_impl\": \"%s\"}\n", ms,
                    2.0 * batch * 3136 * 512 / ms / 1e6, pd.impl_info_str());
    }
    std::printf("]}\n");
    return 0;
}
