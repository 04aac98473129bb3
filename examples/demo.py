"""What `make demo` does, through the Python API: an MLP on digits, tested and saved."""

from pathlib import Path

import numpy as np

import feedforward as ff

x, y = ff.data.load_dataset("digits")
split = ff.data.train_val_test_split(x, y, val=0.15, test=0.2, seed=0)  # stratified

model = ff.Sequential([
    ff.Dense(128, activation="relu", kernel_initializer="he_uniform",
             kernel_regularizer=ff.regularizers.L2(3e-4)),
    ff.Dense(64, activation="relu", kernel_initializer="he_uniform",
             kernel_regularizer=ff.regularizers.L2(3e-4)),
    ff.Dense(10, activation="softmax"),
], seed=0, preprocessing=ff.data.StandardScaler())  # fitted on the training rows, saved
model.compile(optimizer=ff.optimizers.Adam(1e-3), loss="categorical_crossentropy",
              metrics=["accuracy"])
model.fit(split.x_train, split.y_train, epochs=100, batch_size=32,
          validation_data=(split.x_val, split.y_val), verbose=2,
          callbacks=[ff.callbacks.EarlyStopping(patience=10, restore_best_weights=True)])
model.summary()

loss, accuracy = model.evaluate(split.x_test, split.y_test)
print(f"test loss {loss:.4f}  test accuracy {accuracy:.2%}")
print("confusion matrix (rows: true digit, columns: predicted):")
print(ff.metrics.confusion_matrix(split.y_test, model.predict(split.x_test), num_classes=10))

out = Path("runs/demo-python")
out.mkdir(parents=True, exist_ok=True)
model.save(out / "digits.safetensors")
reloaded = ff.load_model(out / "digits.safetensors")  # raw pixels in: the scaler came along
assert np.array_equal(reloaded.predict(split.x_test), model.predict(split.x_test))
print(f"saved to {out / 'digits.safetensors'} (reloaded: identical predictions)")
