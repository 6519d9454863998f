// React Native's autolinking: Ferry is a pure C++ TurboModule. On Android
// the app's native build adds CMakeLists.txt and registers FerryTurboModule
// (cpp/FerryTurboModule.h) by its kModuleName; on iOS the podspec builds the
// sources and codegenConfig.ios.modulesProvider (package.json) names the
// class that hands React Native the module.
module.exports = {
  dependency: {
    platforms: {
      ios: {},
      android: {
        cxxModuleCMakeListsModuleName: 'ferry_react_native',
        cxxModuleCMakeListsPath: 'CMakeLists.txt',
        cxxModuleHeaderName: 'FerryTurboModule',
      },
    },
  },
};
