// Builds the OnyxChat Android library (AAR): libchat_ffi.so per ABI (cargo-ndk), the uniffi-generated
// Kotlin bindings and the hand-written Kotlin layer in src/main/kotlin.

import org.jetbrains.kotlin.gradle.dsl.JvmTarget
import org.jetbrains.kotlin.gradle.tasks.KotlinCompile

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
    `maven-publish`
}

val libraryVersion: String = providers.gradleProperty("VERSION_NAME").get()

// The Rust workspace (Cargo.toml, Cargo.lock, the crates) is the parent of this directory.
val cargoWorkspace: File = rootDir.parentFile
// Any profile of ../Cargo.toml: `release` (default) or e.g. `dev` for quicker, unoptimised builds.
val cargoProfile: String = providers.gradleProperty("onyxchat.cargoProfile").getOrElse("release")
val rustAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val androidMinSdk = 24

val jniLibsDir: File = layout.buildDirectory.dir("rust/jniLibs").get().asFile
val uniffiKotlinDir: File = layout.buildDirectory.dir("generated/uniffi/kotlin").get().asFile

android {
    namespace = "com.onyxchat"
    compileSdk = 35

    defaultConfig {
        minSdk = androidMinSdk
        consumerProguardFiles("consumer-rules.pro")
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // src/main/kotlin is a default source dir; src/jvmTest is deliberately not part of any source set
    // (those tests are run by `cargo xtask test`, not by Gradle).
    sourceSets.getByName("main") {
        jniLibs.srcDir(jniLibsDir)
        kotlin.srcDir(uniffiKotlinDir)
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget = JvmTarget.JVM_17
    }
}

dependencies {
    // The generated bindings reach libchat_ffi.so through JNA; its AAR carries libjnidispatch.so per ABI.
    // `api`: public generated types (e.g. RustBuffer) extend JNA classes.
    api(libs.jna) {
        artifact { type = "aar" }
    }
    // `api`: the public API returns Flow/StateFlow.
    api(libs.kotlinx.coroutines.core)
    implementation(libs.kotlinx.coroutines.android)
}

// Native libraries: build/rust/jniLibs/<abi>/libchat_ffi.so, picked up by the jniLibs source dir above.
val buildRustLibraries by tasks.registering(Exec::class) {
    group = "onyxchat"
    description = "Builds libchat_ffi.so for ${rustAbis.joinToString()} with cargo-ndk."

    listOf("chat-core", "chat-ffi", "chat-protocol").forEach { crate ->
        inputs.dir(cargoWorkspace.resolve("$crate/src")).withPathSensitivity(PathSensitivity.RELATIVE)
        inputs.file(cargoWorkspace.resolve("$crate/Cargo.toml")).withPathSensitivity(PathSensitivity.RELATIVE)
    }
    inputs.files(cargoWorkspace.resolve("Cargo.toml"), cargoWorkspace.resolve("Cargo.lock"))
        .withPathSensitivity(PathSensitivity.RELATIVE)
    inputs.property("cargoProfile", cargoProfile)
    inputs.property("abis", rustAbis)
    outputs.dir(jniLibsDir)

    workingDir = cargoWorkspace
    commandLine(
        buildList {
            addAll(listOf("cargo", "ndk"))
            rustAbis.forEach { addAll(listOf("--target", it)) }
            addAll(listOf("--platform", androidMinSdk.toString(), "--output-dir", jniLibsDir.absolutePath))
            addAll(listOf("build", "--profile", cargoProfile, "--package", "chat-ffi", "--locked"))
        },
    )
}

// Kotlin bindings: build/generated/uniffi/kotlin/<package dirs>/chat_ffi.kt, read from the arm64-v8a
// library (uniffi's library mode reads any ABI); package and library name come from chat-ffi/uniffi.toml.
val generateUniffiKotlin by tasks.registering(Exec::class) {
    group = "onyxchat"
    description = "Generates the uniffi Kotlin bindings of libchat_ffi.so."
    dependsOn(buildRustLibraries)

    val library = jniLibsDir.resolve("arm64-v8a/libchat_ffi.so")
    val outDir = uniffiKotlinDir
    inputs.file(library).withPathSensitivity(PathSensitivity.NONE)
    inputs.files(cargoWorkspace.resolve("chat-ffi/uniffi.toml"), cargoWorkspace.resolve("Cargo.lock"))
        .withPathSensitivity(PathSensitivity.RELATIVE)
    outputs.dir(outDir)

    // Start from an empty directory so that no stale file survives a rename.
    doFirst { outDir.deleteRecursively() }
    workingDir = cargoWorkspace
    commandLine(
        "cargo", "run", "--locked", "--package", "chat-ffi", "--bin", "uniffi-bindgen", "--",
        "generate", "--library", library.absolutePath,
        "--language", "kotlin", "--out-dir", outDir.absolutePath, "--no-format",
    )
}

// Every variant task depends on preBuild; the Kotlin compile tasks are wired directly as well.
tasks.named("preBuild") { dependsOn(generateUniffiKotlin) }
tasks.withType<KotlinCompile>().configureEach { dependsOn(generateUniffiKotlin) }

// AGP creates the `release` software component only after evaluation.
afterEvaluate {
    publishing {
        publications {
            create<MavenPublication>("release") {
                from(components["release"])
                groupId = "com.onyxchat"
                artifactId = "onyxchat-android"
                version = libraryVersion

                pom {
                    name = "OnyxChat for Android"
                    description = "OnyxChat offline-first chat SDK for Android: a Kotlin API over the Rust core."
                    url = "https://github.com/onyxchat/onyxchat"
                    licenses {
                        license {
                            name = "Apache-2.0"
                            url = "https://www.apache.org/licenses/LICENSE-2.0.txt"
                        }
                    }
                }
            }
        }
    }
}
