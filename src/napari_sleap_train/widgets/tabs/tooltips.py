"""Plain-words tooltips of the training settings (one place, so wording stays consistent)."""

PIPELINE = (
    "Top-down finds each animal's centre first (centroid model), then its body parts "
    "in a crop around that centre (centered-instance model). Use it for several animals. "
    "Bottom-up finds every body part in the whole frame at once and joins them into animals "
    "along part affinity fields (one network; its cost does not grow with the number of animals). "
    "Single instance finds the body parts of one animal in the whole frame."
)
ANCHOR = (
    "Body part used as each animal's centre. Crops are centred on it. Pick a part that is "
    "almost always visible and near the middle of the body. If it is missing, the middle of "
    "the animal's bounding box is used."
)
SIGMA_CENTROID = "Spread (in pixels) of the blob the centroid model learns to draw on each animal's centre."
SIGMA_NODES = (
    "Spread (in pixels) of the blob drawn on each body part. Larger is easier to learn, smaller is more precise."
)
MAX_INSTANCES = "Most animals to find per frame when predicting. 0 (the default) means no limit: keep every detection."
TEST_TIME_VIEWS = (
    "Top-down predictions: each animal's crop is predicted turned by quarter turns (and, with 8, "
    "mirrored), and every body part goes where most views agree. Fly clip, 4 views against 1: median "
    "error 0.70 -> 0.49 px on the training video's test frames, OKS mAP 0.41 -> 0.50 on frames far "
    "from the training frames (8 views: 0.53 there, 0.75 px on the training video), for about 2x the "
    "prediction time. 1 predicts each crop once, as SLEAP does. A point's score is how much the views "
    "agree: low scores mark the points worth checking."
)
RUNS_FOLDER = "Folder where each training run gets its own sub-folder with the trained model and logs."
RUN_PREFIX = "Text put in front of every run folder name, e.g. 'mice_'."
PREDICT_ON = "Frames to predict on once training finishes. The predictions appear as a new points layer."
PREDICT_N = "How many random frames to predict on."
VIEW_INPUTS = (
    "Open a window with a few augmented training examples exactly as the network sees them, "
    "with the confidence maps it must learn drawn on top. Nothing is trained."
)
SAVE_CONFIG = "Save all settings of every tab to a file."
EXPORT_JOB = (
    "Write a zip that trains on another machine (GPU workstation, cluster) without napari or the "
    "videos: the project with its frames embedded, these settings, the runs the models reuse, and "
    "train.sh / predict.sh (as napari-sleap-train export-job)."
)
SAVE_SLEAP_CONFIGS = "Save each model's settings as a SLEAP training_config.json (one file per model) in a folder."
LOAD_CONFIG = "Load settings saved with 'Save config...', a run's config.json, or a SLEAP training_config.json."
PROFILE = (
    "Copy the settings (not the weights) of a run you trained before (listed first, newest "
    "first) or of a built-in profile. Every setting below can still be changed. To start from a "
    "run's trained weights, use 'Weights' below."
)
WEIGHTS = (
    "Train from scratch: random weights. Start from run's weights: a new run is initialised with "
    "a trained run's weights and trained on the current labels (fine-tuning; its network settings "
    "are taken, the skeleton must match). Resume: continue a stopped run after its last epoch, "
    "with its settings, optimizer state and learning-rate schedule. Use trained run: this model is "
    "not trained; predictions use the run as it is."
)
WEIGHTS_RUN = "Trained runs of this model in the runs folder, newest first, and folders added with 'Folder…'."
WEIGHTS_FOLDER = (
    "Add a model folder from elsewhere: one of ours or a SLEAP 1.4 model (training_config.json + best_model.h5)."
)
PIPELINE_TIME_LIMIT = (
    "Wall-time budget of the whole pipeline in minutes, data preparation included, shared between "
    "the models (the CPU profiles: 30% centroid, 70% centered instance); each model stops in time "
    "keeping its best checkpoint and the learning rate decays over its share. 0 means no budget. "
    "The same as the command line's --time-limit."
)
PREDICT_BUTTON = (
    "Predict on the frames chosen in 'Predict on' with trained models, without training: per model "
    "the run its tab uses or resumes, else the newest trained run in the runs folder."
)

INPUT_SCALING = (
    "Frames are resized by this factor before entering the network. 0.5 halves width and "
    "height: training is about 4x faster, but small body parts get harder to see."
)
CROP_AUTO = (
    "Let the crop size follow the largest labeled animal (allowing for rotation and scale augmentation) plus a margin."
)
CROP_SIZE = (
    "Side in pixels of the square cut out around each animal for the centered-instance "
    "model. It must hold the whole animal; the orange boxes on the viewer show it."
)
VALIDATION = (
    "Share of labeled frames kept aside to check the model on frames it did not learn from. "
    "Early stopping and the best model use these frames."
)
BATCH_SIZE = (
    "Number of examples the network looks at per step. Lower it if training runs out of "
    "memory; higher can be faster on a GPU."
)
EPOCHS = (
    "Most epochs to train. An epoch is a set number of batches, not always one pass over the "
    "frames: at least 200 batches with the GPU profiles, 50 with the CPU ones. Training usually "
    "stops earlier (early stopping, time limit)."
)
LEARNING_RATE = (
    "Step size of the optimizer. The profiles' value (0.0001 for the GPU baselines, 0.001 for the "
    "CPU ones) works for most projects; lower it for fine-tuning if the loss jumps."
)
PATIENCE = (
    "Stop training when the validation loss has not improved for this many epochs in a row; "
    "the best model so far is kept."
)
PLATEAU_PATIENCE = "Lower the learning rate when the validation loss has not improved for this many epochs."
PLATEAU_FACTOR = "Multiply the learning rate by this factor when the validation loss stops improving."
TIME_LIMIT = (
    "Stop this model after this many minutes of training and keep the best model so far. 0 means "
    "no limit. The pipeline's time budget (Training Pipeline tab) is shared between the models."
)

ROTATE = "Randomly rotate each example by up to this many degrees either way."
SCALE = "Randomly zoom each example in or out between these factors."
FLIP = "Randomly mirror examples. Left/right body parts are swapped by name (e.g. 'left ear')."
NOISE = "Add random pixel noise (Gaussian, this standard deviation in grey levels)."
CONTRAST = "Randomly change contrast with a gamma between these values."
BRIGHTNESS = "Randomly add this many grey levels to every pixel."
CENTER_JITTER = (
    "Move each training crop's center by up to this share of the crop side, so the model finds "
    "the anchor part in the image rather than at the center. When predicting, the center is the "
    "centroid model's estimate, a few pixels off: without jitter that error becomes the anchor's."
)
BEND_LIMBS = (
    "Bend each limb tip of the skeleton (a node with one edge: leg and wing tips) about the node "
    "it hangs from by up to this angle, and stretch or shorten it by up to this share, the image "
    "following, so the model also sees poses the labels do not show. It helps on a new recording "
    "whose animals move in ways the labels do not show, and costs a little on frames like the "
    "labeled ones. 0 and 0: off."
)
BALANCE_POSES = (
    "Draw training frames so each distinct pose comes up about equally often: frames of a pose "
    "that was labeled many times (an animal resting) are drawn less, rare poses more. It helps "
    "on new recordings whose poses the labels show rarely, and costs a little on frames like "
    "the labeled ones."
)

MAX_STRIDE = (
    "How much the network shrinks the image at its deepest level. Larger sees more context "
    "(bigger receptive field) but needs input sizes that are multiples of it."
)
OUTPUT_STRIDE = "Confidence maps are this many times smaller than the input. 1 or 2 is most precise."
FILTERS = "Number of feature channels of the first layer. More can learn more but is slower."
FILTERS_RATE = "Channels grow by this factor at each deeper level."
UP_INTERPOLATE = "Upsample with interpolation (faster, fewer weights) instead of learned transposed convolutions."
RECEPTIVE_FIELD = (
    "Size of the image area one output pixel can 'see'. It should cover the features that "
    "tell body parts apart (about the size of the animal for centroids). The blue square on "
    "the viewer shows it."
)

DEVICE = (
    "Where training runs. Automatic picks a GPU when there is one, else the CPU (with "
    "smaller, faster CPU profiles). With several GPUs you can pick one, or train on all of "
    "them at once (each batch is split between them)."
)
PRECISION = (
    "Mixed precision computes in 16-bit floats and keeps the weights in 32-bit: up to 2-3x "
    "faster and less GPU memory on NVIDIA GPUs with tensor cores (RTX 20xx, V100 and newer), "
    "slower on a CPU. Automatic turns it on only on those GPUs. Predictions are the same "
    "within a fraction of a pixel."
)
XLA = (
    "XLA compiles the training step into fused GPU code: faster on NVIDIA GPUs after a "
    "compile of a few seconds at the start, slower on a CPU and not available on Apple "
    "GPUs. Automatic turns it on for NVIDIA GPUs only."
)

# -- bottom-up (multi-instance model): confidence maps + part affinity fields ----------------
SIGMA_EDGES = (
    "SLEAP's 'sigma for edges': how far from each skeleton edge its part affinity field reaches "
    "(network-input pixels; 75 reaches about 9 px each side, 25 about 5 px). The preview arrows show it."
)
PAF_OUTPUT_STRIDE = (
    "The part affinity fields are this many times smaller than the input. A multiple of the "
    "confidence maps' output stride, at most the max stride; coarser is faster, finer joins close animals better."
)
CONFMAP_LOSS_WEIGHT = "Weight of the confidence-map loss next to the part affinity field loss."
PAF_LOSS_WEIGHT = "Weight of the part affinity field loss next to the confidence-map loss."
PAF_EDGES = "Edges with a part affinity field: every edge of the skeleton, in the skeleton's order."
